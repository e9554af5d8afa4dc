/**
 * Requests per minute over a sliding window, for many entities at once (instances or models,
 * by dense index): two one-minute buckets, the older one weighted by how much of it still lies
 * in the window. Typed arrays, O(1) per request, nothing allocated once grown. What placement
 * reads as an instance's `rpm` and scaling as a model's.
 */
const WINDOW_MS = 60_000

export class RateWindows {
  private start: Float64Array
  private cur: Float64Array
  private prev: Float64Array

  constructor(n: number) {
    this.start = new Float64Array(n).fill(-Infinity)
    this.cur = new Float64Array(n)
    this.prev = new Float64Array(n)
  }

  /** make room for indexes below n */
  ensure(n: number): void {
    if (n <= this.start.length) return
    const cap = Math.max(n, this.start.length * 2)
    const grow = (a: Float64Array, fill: number) => {
      const b = new Float64Array(cap).fill(fill)
      b.set(a)
      return b
    }
    this.start = grow(this.start, -Infinity)
    this.cur = grow(this.cur, 0)
    this.prev = grow(this.prev, 0)
  }

  /** count one request of entity i at time t (times never go back) */
  record(i: number, t: number): void {
    this.roll(i, t)
    this.cur[i]!++
  }

  /** requests per minute at time t */
  rpm(i: number, t: number): number {
    this.roll(i, t)
    const frac = (t - this.start[i]!) / WINDOW_MS
    return this.prev[i]! * (1 - frac) + this.cur[i]!
  }

  private roll(i: number, t: number): void {
    const s = this.start[i]!
    if (t < s + WINDOW_MS) return
    if (s === -Infinity || t >= s + 2 * WINDOW_MS) {
      this.prev[i] = 0
      this.start[i] = t
    } else {
      this.prev[i] = this.cur[i]!
      this.start[i] = s + WINDOW_MS
    }
    this.cur[i] = 0
  }
}
