import type { Rng } from "@meshkit/core"

/** Random variates for the generator, all drawn from one seeded Rng so a seed fixes the trace. */

/** uniform in (0, 1]: safe under log() */
const open01 = (rng: Rng): number => 1 - rng.next()

export const exponential = (rng: Rng, mean: number): number => -mean * Math.log(open01(rng))

/** standard normal (Box–Muller; the second variate is dropped to keep the draw count simple) */
export const normal = (rng: Rng): number => Math.sqrt(-2 * Math.log(open01(rng))) * Math.cos(2 * Math.PI * rng.next())

/** lognormal with the given median (= e^mu) and sigma of the underlying normal */
export const lognormal = (rng: Rng, median: number, sigma: number): number =>
  sigma === 0 ? median : median * Math.exp(sigma * normal(rng))

/**
 * Gamma(shape, scale) by Marsaglia–Tsang; shape < 1 through Gamma(shape + 1) · U^(1/shape).
 * Mean shape·scale, coefficient of variation 1/√shape.
 */
export const gamma = (rng: Rng, shape: number, scale: number): number => {
  if (shape < 1) return gamma(rng, shape + 1, scale) * Math.pow(open01(rng), 1 / shape)
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    const x = normal(rng)
    const t = 1 + c * x
    if (t <= 0) continue
    const v = t * t * t
    const u = open01(rng)
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v * scale
  }
}

/** Zipf weights for ranks 1..n (weight ∝ rank^-s), normalised to sum 1. */
export const zipfWeights = (n: number, s: number): Float64Array => {
  const w = new Float64Array(n)
  let sum = 0
  for (let r = 0; r < n; r++) sum += w[r] = Math.pow(r + 1, -s)
  for (let r = 0; r < n; r++) w[r] /= sum
  return w
}

/** A seeded Fisher–Yates permutation of 0..n-1. */
export const permutation = (rng: Rng, n: number): Int32Array => {
  const p = new Int32Array(n)
  for (let i = 0; i < n; i++) p[i] = i
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = p[i]
    p[i] = p[j]
    p[j] = t
  }
  return p
}
