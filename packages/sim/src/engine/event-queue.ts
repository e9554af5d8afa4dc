/**
 * The simulator's timed events: a binary min-heap ordered by (time, insertion order), so events
 * at the same virtual time run in the order they were scheduled and a run is deterministic.
 *
 * Events live in typed-array slots (time, sequence, kind, one integer argument) and the heap
 * holds slot numbers only: a push or pop allocates nothing and a swap moves one integer.
 */
export class EventQueue {
  private heap: Int32Array
  private time: Float64Array
  private seq: Float64Array
  private kinds: Uint8Array
  private args: Int32Array
  private free: Int32Array
  private freeCount = 0
  private slots = 0
  private counter = 0
  size = 0

  /** the event `pop` just removed */
  poppedTime = 0
  poppedKind = 0
  poppedArg = 0

  constructor(initialCapacity = 1024) {
    const n = Math.max(16, initialCapacity)
    this.heap = new Int32Array(n)
    this.time = new Float64Array(n)
    this.seq = new Float64Array(n)
    this.kinds = new Uint8Array(n)
    this.args = new Int32Array(n)
    this.free = new Int32Array(n)
  }

  /** Time of the earliest event, +Infinity when empty. */
  peekTime(): number {
    return this.size === 0 ? Infinity : this.time[this.heap[0]!]!
  }

  push(t: number, kind: number, arg: number): void {
    if (!(t === t)) throw new RangeError("event time is NaN")
    const s = this.allocSlot()
    this.time[s] = t
    this.seq[s] = this.counter++
    this.kinds[s] = kind
    this.args[s] = arg
    let i = this.size++
    const heap = this.heap
    // sift up
    while (i > 0) {
      const p = (i - 1) >> 1
      const ps = heap[p]!
      if (!this.before(s, ps)) break
      heap[i] = ps
      i = p
    }
    heap[i] = s
  }

  /** Remove the earliest event into poppedTime / poppedKind / poppedArg. Returns false when empty. */
  pop(): boolean {
    if (this.size === 0) return false
    const heap = this.heap
    const top = heap[0]!
    this.poppedTime = this.time[top]!
    this.poppedKind = this.kinds[top]!
    this.poppedArg = this.args[top]!
    this.free[this.freeCount++] = top
    const last = heap[--this.size]!
    const n = this.size
    if (n > 0) {
      // sift down
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        let c = l
        if (r < n && this.before(heap[r]!, heap[l]!)) c = r
        const cs = heap[c]!
        if (!this.before(cs, last)) break
        heap[i] = cs
        i = c
      }
      heap[i] = last
    }
    return true
  }

  private before(a: number, b: number): boolean {
    const ta = this.time[a]!
    const tb = this.time[b]!
    return ta < tb || (ta === tb && this.seq[a]! < this.seq[b]!)
  }

  private allocSlot(): number {
    if (this.freeCount > 0) return this.free[--this.freeCount]!
    if (this.slots === this.time.length) this.grow()
    return this.slots++
  }

  private grow(): void {
    const n = this.time.length * 2
    const g = <T extends Float64Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n)
      b.set(a)
      return b
    }
    this.heap = g(this.heap, (k) => new Int32Array(k))
    this.time = g(this.time, (k) => new Float64Array(k))
    this.seq = g(this.seq, (k) => new Float64Array(k))
    this.kinds = g(this.kinds, (k) => new Uint8Array(k))
    this.args = g(this.args, (k) => new Int32Array(k))
    this.free = g(this.free, (k) => new Int32Array(k))
  }
}
