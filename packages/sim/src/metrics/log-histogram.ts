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
