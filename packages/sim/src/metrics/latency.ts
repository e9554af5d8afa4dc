import * as hdr from "hdr-histogram-js"

let wasmReady = false
const ensureWasm = (): void => {
  if (!wasmReady) {
    // The WebAssembly build records ~7x faster than the JS one: it matters at millions of requests/s.
    hdr.initWebAssemblySync()
    wasmReady = true
  }
}

export interface LatencyPercentiles {
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly p999: number
}

/** Percentiles at which the latency CDF is sampled for the report (denser in the tail). */
const CDF_PERCENTILES: readonly number[] = [
  ...Array.from({ length: 20 }, (_, i) => i * 5),
  96, 97, 98, 99, 99.5, 99.9, 99.95, 99.99, 100
]

/**
 * Counts recorded here before they reach the HDR histogram: values below 2^11 exactly, then 1,024
 * buckets per power of two, which is the HDR histogram's own bucketing at 3 significant digits
 * (2,048 sub-buckets: exact below 2,048, a resolution of 2^(e-10) in [2^e, 2^(e+1))). Each of
 * these buckets lies within one of the histogram's, so flushing each count as its bucket's lowest
 * value leaves the histogram's counts, and every percentile it reports, exactly as recording each
 * value would; a record is then a few integer operations and a typed-array increment instead of
 * a call into WebAssembly per request.
 */
const EXACT_BITS = 11
const EXACT = 1 << EXACT_BITS
const PER_OCTAVE = EXACT >> 1
/** values from 2^31 on go to the histogram directly (latencies over ~35 minutes) */
const BUCKETS = EXACT + (31 - EXACT_BITS) * PER_OCTAVE

/** the bucket of a whole non-negative value below 2^31 */
export const bufferBucketOf = (v: number): number => {
  if (v < EXACT) return v
  const shift = 31 - Math.clz32(v) - (EXACT_BITS - 1)
  return EXACT + (shift - 1) * PER_OCTAVE + ((v >>> shift) - PER_OCTAVE)
}

/** the lowest value of bucket i (its representative when flushed) */
export const bufferBucketLow = (i: number): number => {
  if (i < EXACT) return i
  const k = i - EXACT
  const shift = Math.floor(k / PER_OCTAVE) + 1
  return ((k % PER_OCTAVE) + PER_OCTAVE) * 2 ** shift
}

/** Request latencies in whole microseconds (HDR histogram, 3 significant digits). */
export class LatencyRecorder {
  private readonly h: hdr.Histogram
  /**
   * counts not yet in `h`, by bufferBucketOf: 32 bits (half the cache footprint of doubles; a
   * flush before 2^32 buffered records keeps any one count from overflowing)
   */
  private readonly pending = new Uint32Array(BUCKETS)
  private pendingCount = 0

  constructor() {
    ensureWasm()
    this.h = hdr.build({ useWebAssembly: true, numberOfSignificantValueDigits: 3 })
  }

  record(us: number): void {
    // whole, non-negative and below 2^31 (always, but for pathological runs): buffered
    if (us >= 0 && us < 2147483648 && (us | 0) === us) {
      this.pending[bufferBucketOf(us)]!++
      if (++this.pendingCount === 4294967295) this.flush()
    } else this.h.recordValue(us)
  }

  /** the buffered counts into the histogram (before any question is asked of it) */
  private flush(): void {
    if (this.pendingCount === 0) return
    const p = this.pending
    for (let i = 0; i < BUCKETS; i++) {
      const n = p[i]!
      if (n === 0) continue
      this.h.recordValueWithCount(bufferBucketLow(i), n)
      p[i] = 0
    }
    this.pendingCount = 0
  }

  get count(): number {
    return this.h.totalCount + this.pendingCount
  }

  percentiles(): LatencyPercentiles {
    this.flush()
    if (this.h.totalCount === 0) return { p50: 0, p90: 0, p99: 0, p999: 0 }
    return {
      p50: this.h.getValueAtPercentile(50),
      p90: this.h.getValueAtPercentile(90),
      p99: this.h.getValueAtPercentile(99),
      p999: this.h.getValueAtPercentile(99.9)
    }
  }

  /** [latency µs, fraction of requests at or below it] points for a CDF chart */
  cdf(): Array<[number, number]> {
    this.flush()
    if (this.h.totalCount === 0) return []
    const out: Array<[number, number]> = []
    for (const p of CDF_PERCENTILES) {
      const v = this.h.getValueAtPercentile(p)
      out.push([v, p / 100])
    }
    return out
  }

  /** free the WebAssembly memory */
  destroy(): void {
    this.h.destroy()
  }
}
