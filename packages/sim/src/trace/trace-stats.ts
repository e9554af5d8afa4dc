import { materialize } from "./materialize.js"
import type { Trace } from "./types.js"

/**
 * What a cache researcher asks of a trace first: how many requests and objects, how many bytes,
 * how many objects are requested once only (one-hit wonders: no cache can help them), how skewed
 * popularity is (the Zipf exponent of the rank-frequency curve) and how far apart reuses are.
 * Reuse distance is the stack distance: distinct other objects requested between two requests
 * for the same object, which is exactly the LRU cache size (in objects) that turns the second
 * request into a hit. Computed in O(n log n) with a Fenwick tree over request positions.
 */
export interface TraceStats {
  readonly requests: number
  readonly objects: number
  /** sum of the sizes of all requests, and of the distinct objects (the working set) */
  readonly requestBytes: number
  readonly uniqueBytes: number
  readonly oneHitWonders: number
  /** one-hit wonders ÷ objects */
  readonly oneHitWonderRatio: number
  /** requests that are the first for their object (compulsory misses) ÷ requests */
  readonly compulsoryMissRatio: number
  /** fitted exponent s of frequency ∝ rank^−s (least squares on log-log, objects requested ≥ twice) */
  readonly zipfExponent: number
  /** share of requests going to the most popular 1 % of objects */
  readonly top1PercentShare: number
  readonly durationMs: number
  /** stack-distance percentiles over reuses (first requests excluded), in objects */
  readonly reuseDistance: { readonly p10: number; readonly p50: number; readonly p90: number; readonly p99: number; readonly reuses: number }
  /** chart data: [rank, requests] on a log-spaced subset of ranks */
  readonly rankFrequency: ReadonlyArray<readonly [number, number]>
  /** chart data: [distance, fraction of reuses with stack distance ≤ distance], log-spaced */
  readonly reuseCdf: ReadonlyArray<readonly [number, number]>
}

export const traceStats = async (trace: Trace): Promise<TraceStats> => {
  const m = await materialize(trace)
  const n = m.timeMs.length
  const k = trace.models.ids.length
  const sizes = trace.models.sizes
  const counts = new Float64Array(k)
  const last = new Float64Array(k).fill(-1)
  // Fenwick tree over positions: 1 at the latest request of each object so far
  const tree = new Int32Array(n + 1)
  const add = (i: number, v: number) => {
    for (let x = i + 1; x <= n; x += x & -x) tree[x]! += v
  }
  const prefix = (i: number): number => {
    let s = 0
    for (let x = i + 1; x > 0; x -= x & -x) s += tree[x]!
    return s
  }
  const distances = new Float64Array(n)
  let reuses = 0
  let requestBytes = 0
  for (let i = 0; i < n; i++) {
    const o = m.model[i]!
    counts[o]!++
    requestBytes += sizes[o]!
    const p = last[o]!
    if (p >= 0) {
      // distinct objects whose latest request lies strictly between p and i
      distances[reuses++] = prefix(i - 1) - prefix(p)
      add(p, -1)
    }
    add(i, 1)
    last[o] = i
  }
  let objects = 0
  let oneHit = 0
  let uniqueBytes = 0
  for (let o = 0; o < k; o++) {
    if (counts[o]! === 0) continue
    objects++
    uniqueBytes += sizes[o]!
    if (counts[o]! === 1) oneHit++
  }
  const byRank = Array.from(counts).filter((c) => c > 0).sort((a, b) => b - a)
  const top = Math.max(1, Math.floor(objects / 100))
  let topRequests = 0
  for (let r = 0; r < top && r < byRank.length; r++) topRequests += byRank[r]!
  const d = distances.subarray(0, reuses).sort()
  const q = (f: number) => (reuses === 0 ? NaN : d[Math.min(reuses - 1, Math.floor(f * reuses))]!)
  return {
    requests: n,
    objects,
    requestBytes,
    uniqueBytes,
    oneHitWonders: oneHit,
    oneHitWonderRatio: objects === 0 ? 0 : oneHit / objects,
    compulsoryMissRatio: n === 0 ? 0 : objects / n,
    zipfExponent: zipfFit(byRank),
    top1PercentShare: n === 0 ? 0 : topRequests / n,
    durationMs: n === 0 ? 0 : m.timeMs[n - 1]! - m.timeMs[0]!,
    reuseDistance: { p10: q(0.1), p50: q(0.5), p90: q(0.9), p99: q(0.99), reuses },
    rankFrequency: logSpaced(byRank.length).map((r) => [r, byRank[r - 1]!] as const),
    reuseCdf: reuses === 0 ? [] : cdfPoints(d)
  }
}

/** Least-squares slope of log(frequency) on log(rank), over objects requested at least twice. */
const zipfFit = (byRank: ReadonlyArray<number>): number => {
  let sx = 0
  let sy = 0
  let sxx = 0
  let sxy = 0
  let c = 0
  for (let r = 0; r < byRank.length && byRank[r]! >= 2; r++) {
    const x = Math.log(r + 1)
    const y = Math.log(byRank[r]!)
    sx += x
    sy += y
    sxx += x * x
    sxy += x * y
    c++
  }
  if (c < 2) return NaN
  return -(c * sxy - sx * sy) / (c * sxx - sx * sx)
}

/** 1, 2, 3, …, 10, 12, 15, … up to n: about 20 points a decade. */
const logSpaced = (n: number): number[] => {
  const out: number[] = []
  let last = 0
  for (let e = 0; ; e += 0.05) {
    const r = Math.min(n, Math.round(10 ** e))
    if (r > last) out.push((last = r))
    if (r >= n) break
  }
  return out
}

const cdfPoints = (sorted: Float64Array): Array<readonly [number, number]> => {
  const n = sorted.length
  const max = sorted[n - 1]!
  const out: Array<readonly [number, number]> = []
  let i = 0
  for (const x of logSpaced(Math.max(1, max))) {
    while (i < n && sorted[i]! <= x) i++
    out.push([x, i / n])
  }
  return out
}
