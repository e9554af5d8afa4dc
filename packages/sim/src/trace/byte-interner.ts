/**
 * Maps byte strings (model ids inside a CSV read buffer) to small integers without decoding them:
 * decoding every field to a JS string and hashing it again in a Map costs more than the rest of
 * the parse. Open addressing on a 32-bit FNV-1a hash; keys are copied out of the read buffer.
 */
export class ByteInterner {
  private slots = new Int32Array(1024) // entry + 1; 0 = empty
  private mask = 1023
  private readonly hashes: number[] = []
  private readonly keys: Uint8Array[] = []
  private readonly values: number[] = []

  get size(): number {
    return this.keys.length
  }

  /** The value stored for buf[start, end), or -1 when absent. `hash` must be `hashBytes` of it. */
  find(buf: Uint8Array, start: number, end: number, hash: number): number {
    const len = end - start
    let s = hash & this.mask
    for (;;) {
      const e = this.slots[s]!
      if (e === 0) return -1
      const entry = e - 1
      if (this.hashes[entry] === hash) {
        const key = this.keys[entry]!
        if (key.length === len) {
          let i = 0
          while (i < len && key[i] === buf[start + i]) i++
          if (i === len) return this.values[entry]!
        }
      }
      s = (s + 1) & this.mask
    }
  }

  /** Stores a key known to be absent. */
  add(buf: Uint8Array, start: number, end: number, hash: number, value: number): void {
    const entry = this.keys.length
    this.keys.push(new Uint8Array(buf.subarray(start, end))) // a copy: Buffer#slice would share the read buffer
    this.hashes.push(hash)
    this.values.push(value)
    if (this.keys.length * 2 > this.slots.length) this.grow()
    else this.place(entry)
  }

  private place(entry: number): void {
    let s = this.hashes[entry]! & this.mask
    while (this.slots[s] !== 0) s = (s + 1) & this.mask
    this.slots[s] = entry + 1
  }

  private grow(): void {
    this.slots = new Int32Array(this.slots.length * 2)
    this.mask = this.slots.length - 1
    for (let e = 0; e < this.keys.length; e++) this.place(e)
  }
}

export const hashBytes = (buf: Uint8Array, start: number, end: number): number => {
  let h = 0x811c9dc5
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193)
  return h >>> 0
}
