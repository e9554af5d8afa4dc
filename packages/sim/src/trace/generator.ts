import { ParseResult, Schema } from "effect"
import { makeRng, parseBytes } from "@meshkit/core"
import { ArrivalHeap } from "./arrival-heap.js"
import { ChunkBuilder } from "./chunk-builder.js"
import { exponential, gamma, lognormal, permutation, zipfWeights } from "./distributions.js"
import { decodeOptions } from "./errors.js"
import { ModelTableBuilder } from "./model-table.js"
import type { Trace, TraceChunk } from "./types.js"

/** A byte size as a number or a string with a unit ("256MiB"); decodes to a number of bytes. */
const Bytes = Schema.Union(
  Schema.NonNegative,
  Schema.transformOrFail(Schema.String, Schema.NonNegative, {
    strict: true,
    decode: (text, _, ast) => {
      try {
        return ParseResult.succeed(parseBytes(text))
      } catch (e) {
        return ParseResult.fail(new ParseResult.Type(ast, text, (e as Error).message))
      }
    },
    encode: (n) => ParseResult.succeed(String(n))
  })
)

const positive = Schema.Number.pipe(Schema.finite(), Schema.positive())
const withDefault = <A, I>(schema: Schema.Schema<A, I>, value: A, description: string) =>
  Schema.optionalWith(schema, { default: () => value, exact: true }).annotations({ description })

/**
 * A seeded synthetic multi-tenant trace. `models` models are spread round-robin over `tenants`
 * tenants; popularity is Zipf(`zipf`) over a seeded shuffle of the models (so neither ids nor
 * tenants are ordered by popularity); the mean total rate is `rate` requests/s, each model
 * getting its Zipf share. Each model arrives independently:
 * - "onoff": a Markov-modulated Poisson process: on periods (mean `onMs`) with Poisson arrivals,
 *   silent off periods (mean `offMs`), exponential durations, on-rate scaled so the long-run
 *   mean is the model's share; starts in the stationary state.
 * - "gamma": a renewal process with Gamma inter-arrivals of coefficient of variation `cv`
 *   (the first arrival is a uniform fraction of one inter-arrival draw, a cheap warm start).
 * - "poisson": exponential inter-arrivals.
 * Diurnal modulation multiplies the rate by 1 + amplitude·sin(2π(t − phase)/period) (by thinning, so a
 * gamma process's CV is exactly `cv` only at amplitude 0). Sizes are lognormal (median, sigma),
 * drawn once per model; execution times lognormal per request when `execMedianMs` is given,
 * NaN otherwise. Times are rounded to whole microseconds. The trace ends at `durationMs` or
 * after `requests` requests, whichever comes first (default: one hour).
 */
export const GeneratorOptions = Schema.Struct({
  seed: withDefault(Schema.Int, 1, "random seed: same seed, same trace"),
  models: withDefault(Schema.Int.pipe(Schema.positive()), 1000, "number of models"),
  tenants: withDefault(Schema.Int.pipe(Schema.positive()), 10, "number of tenants (models assigned round-robin)"),
  zipf: withDefault(Schema.NonNegative, 1, "Zipf exponent s of model popularity (0 = uniform)"),
  rate: withDefault(positive, 100, "mean total request rate, requests per second"),
  arrival: withDefault(Schema.Literal("onoff", "gamma", "poisson"), "onoff" as const, "per-model arrival process"),
  onMs: withDefault(positive, 60_000, "onoff: mean on-period length, ms"),
  offMs: withDefault(positive, 600_000, "onoff: mean off-period length, ms"),
  cv: withDefault(positive, 4, "gamma: coefficient of variation of inter-arrival times"),
  diurnalAmplitude: withDefault(Schema.Number.pipe(Schema.between(0, 1)), 0, "rate × (1 + a·sin(2πt/period)), a in [0, 1]"),
  diurnalPeriodMs: withDefault(positive, 86_400_000, "period of the diurnal modulation, ms"),
  diurnalPhaseMs: withDefault(Schema.Number.pipe(Schema.finite()), 0, "shift of the diurnal modulation, ms (a mix part in another time zone)"),
  sizeMedian: withDefault(Bytes, 256 * 1024 ** 2, "median model size: bytes or e.g. 256MiB"),
  sizeSigma: withDefault(Schema.NonNegative, 1, "sigma of the lognormal model sizes"),
  execMedianMs: Schema.optionalWith(positive, { exact: true }).annotations({
    description: "median execution time per request, ms (absent: NaN, the cluster decides)"
  }),
  execSigma: withDefault(Schema.NonNegative, 0.5, "sigma of the lognormal execution times"),
  durationMs: Schema.optionalWith(positive, { exact: true }).annotations({
    description: "trace length, ms (default one hour unless requests is given)"
  }),
  requests: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { exact: true }).annotations({
    description: "stop after this many requests"
  }),
  modelPrefix: withDefault(Schema.String, "model-", "model ids are this prefix + a number (a mix needs one per part)"),
  tenantPrefix: withDefault(Schema.String, "tenant-", "tenant ids are this prefix + a number")
})
export type GeneratorOptions = typeof GeneratorOptions.Type

const HOUR_MS = 3_600_000

export const generatedTrace = (input: typeof GeneratorOptions.Encoded = {}): Trace => {
  const opts = decodeOptions("generate trace options", GeneratorOptions, input)
  const models = new ModelTableBuilder()
  return {
    name: `generated (seed ${opts.seed}, ${opts.models} models, ${opts.tenants} tenants, ${opts.arrival})`,
    models: models.table,
    chunks: () => generate(opts, models)
  }
}

const ARRIVAL_ONOFF = 0
const ARRIVAL_GAMMA = 1
const ARRIVAL_POISSON = 2

async function* generate(o: GeneratorOptions, table: ModelTableBuilder): AsyncGenerator<TraceChunk> {
  const rng = makeRng(o.seed)
  const n = o.models
  const end = o.durationMs ?? (o.requests === undefined ? HOUR_MS : Infinity)
  const limit = o.requests ?? Infinity
  // setup draws come first, so a model's size and rank do not depend on the arrival stream
  const rank = permutation(rng, n)
  const weights = zipfWeights(n, o.zipf)
  const sizes = Float64Array.from({ length: n }, () => Math.max(1, Math.round(lognormal(rng, o.sizeMedian, o.sizeSigma))))
  const digits = String(n - 1).length
  const ids = Array.from({ length: n }, (_, k) => `${o.modelPrefix}${String(k).padStart(digits, "0")}`)
  const tenantDigits = String(o.tenants - 1).length
  const tenantOf = (k: number) => `${o.tenantPrefix}${String(k % o.tenants).padStart(tenantDigits, "0")}`

  const amp = o.diurnalAmplitude
  const peak = 1 + amp
  const omega = (2 * Math.PI) / o.diurnalPeriodMs
  const kind = o.arrival === "onoff" ? ARRIVAL_ONOFF : o.arrival === "gamma" ? ARRIVAL_GAMMA : ARRIVAL_POISSON
  const shape = 1 / (o.cv * o.cv)
  const onFraction = o.onMs / (o.onMs + o.offMs)
  /** mean inter-arrival (ms) of each model's process before thinning, i.e. at the peak rate */
  const meanGap = new Float64Array(n)
  /** onoff: end of the current on period; the process is on while time < onEnd */
  const onEnd = new Float64Array(n)
  const next = new Float64Array(n)
  const modelIndex = new Int32Array(n).fill(-1)
  const heap = new ArrivalHeap(next)

  /** next candidate arrival after t of model k's un-thinned process */
  const candidate = (k: number, t: number): number => {
    if (kind === ARRIVAL_POISSON) return t + exponential(rng, meanGap[k])
    if (kind === ARRIVAL_GAMMA) return t + gamma(rng, shape, meanGap[k] * o.cv * o.cv)
    const onGap = meanGap[k] * onFraction
    for (;;) {
      const c = t + exponential(rng, onGap)
      if (c < onEnd[k]) return c
      // the on period ended first: sit out an off period, then start a new on period
      t = onEnd[k] + exponential(rng, o.offMs)
      onEnd[k] = t + exponential(rng, o.onMs)
    }
  }
  /** thinning for the diurnal modulation: keep a candidate at t with probability rate(t)/peak */
  const phase = o.diurnalPhaseMs
  const accept = (t: number): boolean => amp === 0 || t >= end || rng.next() * peak < 1 + amp * Math.sin(omega * (t - phase))
  /** next accepted arrival after t */
  const arrival = (k: number, t: number): number => {
    for (;;) {
      t = candidate(k, t)
      if (accept(t)) return t
    }
  }

  for (let k = 0; k < n; k++) {
    const ratePerMs = (o.rate / 1000) * weights[rank[k]] * peak
    meanGap[k] = 1 / ratePerMs
    let first: number
    if (kind === ARRIVAL_ONOFF) {
      // stationary start: on with probability on/(on+off); exponential durations are memoryless
      const start = rng.next() < onFraction ? 0 : exponential(rng, o.offMs)
      onEnd[k] = start + exponential(rng, o.onMs)
      first = arrival(k, start)
    } else if (kind === ARRIVAL_GAMMA) {
      first = rng.next() * gamma(rng, shape, meanGap[k] * o.cv * o.cv)
      if (!accept(first)) first = arrival(k, first)
    } else {
      first = arrival(k, 0)
    }
    next[k] = first
    if (first < end) heap.push(k)
  }

  const chunk = new ChunkBuilder()
  let count = 0
  while (heap.size > 0 && count < limit) {
    const k = heap.top()
    const t = next[k]
    let m = modelIndex[k]
    if (m < 0) m = modelIndex[k] = table.intern(ids[k], tenantOf(k), sizes[k])
    const exec = o.execMedianMs === undefined ? NaN : Math.round(lognormal(rng, o.execMedianMs, o.execSigma) * 1000) / 1000
    chunk.push(Math.round(t * 1000) / 1000, m, exec)
    count++
    if (chunk.full) yield chunk.take()
    const after = arrival(k, t)
    if (after < end) {
      next[k] = after
      heap.updateTop()
    } else heap.pop()
  }
  if (chunk.length > 0) yield chunk.take()
}
