/**
 * Memory in use and cold starts over virtual time, in at most `maxBuckets` buckets: when the run
 * outgrows them the bucket width doubles and neighbours merge, so memory stays bounded however
 * long the trace is. Also keeps the exact peak and time-weighted mean.
 */
export interface TimelineSeries {
  /** virtual time (ms) of bucket 0's start and the bucket width */
  readonly originMs: number
  readonly bucketMs: number
  /** time-weighted mean bytes in use per bucket */
  readonly memoryMeanBytes: number[]
  /** highest bytes in use per bucket */
  readonly memoryPeakBytes: number[]
  /** requests that waited for a load, by arrival time */
  readonly coldStarts: number[]
}

export class Timeline {
  private origin = NaN
  private width: number
  private area: Float64Array
  private peak: Float64Array
  private cold: Float64Array
  private buckets = 0
  private value = 0
  private lastT = NaN
  private totalArea = 0
  peakBytes = 0

  constructor(
    initialBucketMs = 1000,
    private readonly maxBuckets = 512
  ) {
    this.width = initialBucketMs
    this.area = new Float64Array(maxBuckets)
    this.peak = new Float64Array(maxBuckets)
    this.cold = new Float64Array(maxBuckets)
  }

  /** Start the clock (first request's arrival). */
  start(t: number): void {
    if (this.origin === this.origin) return
    this.origin = t
    this.lastT = t
    this.buckets = 1
  }

  /** Memory in use changed to `bytes` at time t (t never goes back). */
  setMemory(t: number, bytes: number): void {
    this.advance(t)
    this.value = bytes
    if (bytes > this.peakBytes) this.peakBytes = bytes
    const b = this.bucketOf(t)
    if (bytes > this.peak[b]!) this.peak[b] = bytes
  }

  coldStart(arrival: number): void {
    this.cold[this.bucketOf(arrival)]!++
  }

  /** Close the run at time t (last event) and return the time-weighted mean. */
  finish(t: number): number {
    if (!(this.origin === this.origin)) return 0
    this.advance(t)
    // a run ending exactly on a bucket boundary does not own the (empty) bucket after it
    if (this.buckets > 1 && this.origin + (this.buckets - 1) * this.width >= t) this.buckets--
    const span = t - this.origin
    return span > 0 ? this.totalArea / span : this.value
  }

  series(): TimelineSeries {
    const n = this.buckets
    const mean: number[] = []
    for (let i = 0; i < n; i++) mean.push(this.area[i]! / this.width)
    return {
      originMs: this.origin === this.origin ? this.origin : 0,
      bucketMs: this.width,
      memoryMeanBytes: mean,
      memoryPeakBytes: Array.from(this.peak.subarray(0, n)),
      coldStarts: Array.from(this.cold.subarray(0, n))
    }
  }

  /** Integrate the current value from lastT up to t, bucket by bucket. */
  private advance(t: number): void {
    if (!(this.origin === this.origin)) this.start(t)
    let from = this.lastT
    if (t <= from) return
    const v = this.value
    this.totalArea += v * (t - from)
    this.bucketOf(t) // grows / merges so that t has a bucket
    let b = Math.floor((from - this.origin) / this.width)
    while (from < t) {
      const end = Math.min(t, this.origin + (b + 1) * this.width)
      this.area[b]! += v * (end - from)
      if (v > this.peak[b]!) this.peak[b] = v
      from = end
      b++
    }
    this.lastT = t
  }

  private bucketOf(t: number): number {
    let b = Math.floor((t - this.origin) / this.width)
    while (b >= this.maxBuckets) {
      this.mergePairs()
      b = Math.floor((t - this.origin) / this.width)
    }
    if (b + 1 > this.buckets) this.buckets = b + 1
    return b
  }

  private mergePairs(): void {
    const half = this.maxBuckets / 2
    for (let i = 0; i < half; i++) {
      this.area[i] = this.area[2 * i]! + this.area[2 * i + 1]!
      this.peak[i] = Math.max(this.peak[2 * i]!, this.peak[2 * i + 1]!)
      this.cold[i] = this.cold[2 * i]! + this.cold[2 * i + 1]!
    }
    this.area.fill(0, half)
    this.peak.fill(0, half)
    this.cold.fill(0, half)
    this.width *= 2
    this.buckets = Math.ceil(this.buckets / 2)
  }
}
