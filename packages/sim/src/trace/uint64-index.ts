/**
 * Dense indices 0, 1, 2, ... for unsigned 64-bit keys given as two uint32 halves (lo, hi):
 * open addressing with linear probing over typed arrays, at most half full. The oracleGeneral
 * reader calls it once per record, so it must not allocate: a Map keyed by `hi * 2^32 + lo`
 * costs a double box and a hash of a heap number per request, and cannot hold ids ≥ 2^53 at all.
 */
export class Uint64Index {
  private keyLo: Uint32Array
  private keyHi: Uint32Array
  /** slot → dense index + 1, 0 = empty */
  private slot: Int32Array
  private mask: number
  size = 0

  constructor(initialSlots = 1 << 16) {
    let cap = 16
    while (cap < initialSlots) cap *= 2
    this.keyLo = new Uint32Array(cap)
    this.keyHi = new Uint32Array(cap)
    this.slot = new Int32Array(cap)
    this.mask = cap - 1
  }

  /** The key's dense index; a new key gets `size` (then size grows by one). */
  intern(lo: number, hi: number): number {
    const mask = this.mask
    const slot = this.slot
    let h = mix(lo, hi) & mask
    for (;;) {
      const v = slot[h]!
      if (v === 0) break
      if (this.keyLo[h] === lo && this.keyHi[h] === hi) return v - 1
      h = (h + 1) & mask
    }
    const i = this.size++
    slot[h] = i + 1
    this.keyLo[h] = lo
    this.keyHi[h] = hi
    if (this.size * 2 > mask) this.grow()
    return i
  }

  private grow(): void {
    const oldLo = this.keyLo
    const oldHi = this.keyHi
    const oldSlot = this.slot
    const cap = oldSlot.length * 2
    this.keyLo = new Uint32Array(cap)
    this.keyHi = new Uint32Array(cap)
    this.slot = new Int32Array(cap)
    this.mask = cap - 1
    for (let s = 0; s < oldSlot.length; s++) {
      const v = oldSlot[s]!
      if (v === 0) continue
      const lo = oldLo[s]!
      const hi = oldHi[s]!
      let h = mix(lo, hi) & this.mask
      while (this.slot[h] !== 0) h = (h + 1) & this.mask
      this.slot[h] = v
      this.keyLo[h] = lo
      this.keyHi[h] = hi
    }
  }
}

/** murmur3's 32-bit finaliser over both halves: sequential ids spread over the whole table */
const mix = (lo: number, hi: number): number => {
  let h = lo ^ Math.imul(hi, 0x9e3779b1)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}
