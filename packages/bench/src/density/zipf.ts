import { makeRng } from "@meshkit/core"

/**
 * Zipf-distributed choice of one of n items: P(rank k) ∝ 1 / k^s. Ranks are shuffled onto item
 * indexes (seeded) so that popularity is not simply file order.
 */
export const zipfSampler = (n: number, s: number, seed: number): (() => number) => {
  const rng = makeRng(seed)
  const cdf = new Float64Array(n)
  let sum = 0
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / Math.pow(k + 1, s)
  for (let k = 0; k < n; k++) cdf[k]! /= sum
  const item = Int32Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = item[i]!
    item[i] = item[j]!
    item[j] = t
  }
  return () => {
    const u = rng.next()
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cdf[mid]! < u) lo = mid + 1
      else hi = mid
    }
    return item[lo]!
  }
}
