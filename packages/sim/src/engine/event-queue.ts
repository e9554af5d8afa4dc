/**
 * The simulator's timed events: a binary min-heap ordered by (time, insertion order), so events
 * at the same virtual time run in the order they were scheduled and a run is deterministic.
 *
 * The heap keeps each event's fields (time, sequence number, and its kind and integer argument
 * packed into one double, arg × 256 + kind: exact for every int32 argument) in typed arrays in
 * heap order, so a comparison reads neighbouring memory instead of following a slot number, a
 * move copies three numbers, and a push or pop allocates nothing. Two properties keep the work per operation
 * low (the queue runs once or twice per simulated request):
 *  - a pushed event is the newest, so it goes after every event at its time: sifting it up only
 *    compares times;
 *  - a pop moves the hole left by the root down to a leaf along the smaller children (one
 *    comparison per level), then sifts the last event up from there (usually a level or two:
 *    it came from the bottom), instead of comparing it at every level on the way down.
 * The root's time is +Infinity while the queue is empty, so `peekTime` is one read.
 */
export class EventQueue {
  private time: Float64Array
  private seq: Float64Array
  /** arg × 256 + kind (see the module comment) */
  private codes: Float64Array
  private counter = 0
  size = 0

  /** the event `pop` just removed */
  poppedTime = 0
  poppedKind = 0
  poppedArg = 0

  constructor(initialCapacity = 1024) {
    const n = Math.max(16, initialCapacity)
    this.time = new Float64Array(n)
    this.seq = new Float64Array(n)
    this.codes = new Float64Array(n)
    this.time[0] = Infinity
  }

  /** Time of the earliest event, +Infinity when empty. */
  peekTime(): number {
    return this.time[0]!
  }

  push(t: number, kind: number, arg: number): void {
    if (!(t === t)) throw new RangeError("event time is NaN")
    if (this.size === this.time.length) this.grow()
    const time = this.time
    const seq = this.seq
    const codes = this.codes
    let i = this.size++
    // sift up: it is the newest event, so an equal time above it stays above
    while (i > 0) {
      const p = (i - 1) >> 1
      if (time[p]! <= t) break
      time[i] = time[p]!
      seq[i] = seq[p]!
      codes[i] = codes[p]!
      i = p
    }
    time[i] = t
    seq[i] = this.counter++
    // as the typed arrays stored them: the kind a byte, the argument an int32
    codes[i] = (arg | 0) * 256 + (kind & 255)
  }

  /** Remove the earliest event into poppedTime / poppedKind / poppedArg. Returns false when empty. */
  pop(): boolean {
    if (this.size === 0) return false
    const time = this.time
    const seq = this.seq
    const codes = this.codes
    this.poppedTime = time[0]!
    const code = codes[0]!
    const arg = Math.floor(code / 256)
    this.poppedArg = arg
    this.poppedKind = code - arg * 256
    const n = --this.size
    if (n === 0) {
      time[0] = Infinity
      return true
    }
    // the hole at the root goes down to a leaf, always towards the earlier child
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      let c = l
      const r = l + 1
      if (r < n) {
        const tl = time[l]!
        const tr = time[r]!
        if (tr < tl || (tr === tl && seq[r]! < seq[l]!)) c = r
      }
      time[i] = time[c]!
      seq[i] = seq[c]!
      codes[i] = codes[c]!
      i = c
    }
    // then the last event (position n, now outside the heap) fills it, sifted up
    const t = time[n]!
    const s = seq[n]!
    const k = codes[n]!
    while (i > 0) {
      const p = (i - 1) >> 1
      const tp = time[p]!
      if (tp < t || (tp === t && seq[p]! < s)) break
      time[i] = tp
      seq[i] = seq[p]!
      codes[i] = codes[p]!
      i = p
    }
    time[i] = t
    seq[i] = s
    codes[i] = k
    return true
  }

  private grow(): void {
    const n = this.time.length * 2
    const g = <T extends Float64Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n)
      b.set(a)
      return b
    }
    this.time = g(this.time, (k) => new Float64Array(k))
    this.seq = g(this.seq, (k) => new Float64Array(k))
    this.codes = g(this.codes, (k) => new Float64Array(k))
  }
}
