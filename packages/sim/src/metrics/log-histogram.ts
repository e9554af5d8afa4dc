/**
 * A small log-linear histogram of non-negative integers (microseconds): exact below 64, then 32
 * buckets per power of two (≈ 3 % resolution), up to 2^31 (values above land in the top bucket).
 * 3.5 KB each, so a run can keep one per tenant where an HDR histogram per tenant would cost
 * tens of KB.
 */
const SUB = 32
const EXACT = 64
const TOP_EXP = 30
const BUCKETS = EXACT + (TOP_EXP - 5) * SUB

const indexOf = (v: number): number => {
  if (v < EXACT) return v < 0 ? 0 : v | 0
  if (v >= 2 ** 31) return BUCKETS - 1
  const e = 31 - Math.clz32(v)
  const sub = (v >>> (e - 5)) - SUB
  return EXACT + (e - 6) * SUB + sub
}

/** highest value that maps to bucket i (HDR's "highest equivalent value") */
const upperOf = (i: number): number => {
  if (i < EXACT) return i
  const k = i - EXACT
  const e = 6 + Math.floor(k / SUB)
  const sub = (k % SUB) + SUB
  return (sub + 1) * 2 ** (e - 5) - 1
}

export class LogHistogram {
  private readonly counts = new Uint32Array(BUCKETS)
  total = 0

  record(v: number): void {
    this.counts[indexOf(v)]!++
    this.total++
  }

  /** value at percentile p (0..100); 0 when empty */
  percentile(p: number): number {
    if (this.total === 0) return 0
    const rank = Math.max(1, Math.ceil((p / 100) * this.total))
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!
      if (seen >= rank) return upperOf(i)
    }
    return upperOf(BUCKETS - 1)
  }
}

/**
 * One LogHistogram per index (tenant) in one flat array: a record is one increment at
 * index × BUCKETS + bucket, without loading a histogram object and its array first (the request
 * path records into it once per completed request). Same buckets and percentiles as LogHistogram.
 */
export class LogHistogramSet {
  private counts = new Uint32Array(0)
  private totals = new Float64Array(0)

  record(i: number, v: number): void {
    if (i >= this.totals.length) this.grow(i + 1)
    this.counts[i * BUCKETS + indexOf(v)]!++
    this.totals[i]!++
  }

  /** value at percentile p (0..100) of histogram i; 0 when it is empty */
  percentile(i: number, p: number): number {
    const total = i < this.totals.length ? this.totals[i]! : 0
    if (total === 0) return 0
    const rank = Math.max(1, Math.ceil((p / 100) * total))
    const at = i * BUCKETS
    let seen = 0
    for (let k = 0; k < BUCKETS; k++) {
      seen += this.counts[at + k]!
      if (seen >= rank) return upperOf(k)
    }
    return upperOf(BUCKETS - 1)
  }

  private grow(n: number): void {
    const cap = Math.max(n, this.totals.length * 2, 16)
    const counts = new Uint32Array(cap * BUCKETS)
    counts.set(this.counts)
    this.counts = counts
    const totals = new Float64Array(cap)
    totals.set(this.totals)
    this.totals = totals
  }
}
