import { Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { GeneratorOptions, TraceSource, decodeTraceSource, generatedTrace, materialize, openTrace } from "../src/trace/index.js"

const gapsCv = (times: ArrayLike<number>): number => {
  let sum = 0
  let sq = 0
  const n = times.length - 1
  for (let i = 1; i <= n; i++) {
    const g = times[i]! - times[i - 1]!
    sum += g
    sq += g * g
  }
  const mean = sum / n
  return Math.sqrt(sq / n - mean * mean) / mean
}

const sameArrays = (a: ArrayLike<number>, b: ArrayLike<number>): boolean =>
  a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => Object.is(v, b[i]))

describe("synthetic trace generator", () => {
  it("is a function of its seed: same seed, same trace; another seed, another trace", async () => {
    const opts = { seed: 5, models: 200, tenants: 4, requests: 50_000, execMedianMs: 10, diurnalAmplitude: 0.3 }
    const a = generatedTrace(opts)
    const b = generatedTrace(opts)
    const ma = await materialize(a)
    const mb = await materialize(b)
    expect(sameArrays(ma.timeMs, mb.timeMs) && sameArrays(ma.model, mb.model) && sameArrays(ma.execMs, mb.execMs)).toBe(true)
    expect(b.models).toEqual(a.models)
    // a replay of the same Trace object gives the same requests again
    const again = await materialize(a)
    expect(sameArrays(again.timeMs, ma.timeMs) && sameArrays(again.model, ma.model)).toBe(true)
    const c = await materialize(generatedTrace({ ...opts, seed: 6 }))
    expect(sameArrays(c.timeMs, ma.timeMs)).toBe(false)
  })

  it("streams requests in time order, within the duration, with tenants, sizes and exec times as asked", async () => {
    const trace = generatedTrace({ seed: 1, models: 500, tenants: 5, durationMs: 600_000, rate: 200, sizeMedian: "64MiB", sizeSigma: 0.5 })
    const m = await materialize(trace)
    expect(m.timeMs.length).toBeGreaterThan(60_000) // ≈ 200/s × 600 s, bursty
    expect(m.timeMs.length).toBeLessThan(240_000)
    let sorted = true
    for (let i = 1; i < m.timeMs.length; i++) if (m.timeMs[i]! < m.timeMs[i - 1]!) sorted = false
    expect(sorted).toBe(true)
    expect(m.timeMs[m.timeMs.length - 1]).toBeLessThan(600_000)
    expect(new Set(trace.models.tenants).size).toBe(5)
    expect(Array.from(m.execMs).every(Number.isNaN)).toBe(true)
    const sizes = [...trace.models.sizes].sort((x, y) => x - y)
    const median = sizes[sizes.length >> 1]!
    expect(median / 64 / 1024 ** 2).toBeGreaterThan(0.8)
    expect(median / 64 / 1024 ** 2).toBeLessThan(1.25)

    const exact = await materialize(generatedTrace({ seed: 1, requests: 12_345, execMedianMs: 50, execSigma: 0.2 }))
    expect(exact.timeMs.length).toBe(12_345)
    const execs = Array.from(exact.execMs).sort((x, y) => x - y)
    expect(execs[execs.length >> 1]).toBeGreaterThan(45)
    expect(execs[execs.length >> 1]).toBeLessThan(55)
  })

  it("makes popularity Zipf-skewed: the top 1 % of models carry a large share", async () => {
    const share = async (zipf: number) => {
      const trace = generatedTrace({ seed: 3, models: 1000, zipf, arrival: "poisson", requests: 200_000 })
      const m = await materialize(trace)
      const counts = new Map<number, number>()
      for (const k of m.model) counts.set(k, (counts.get(k) ?? 0) + 1)
      const top = [...counts.values()].sort((x, y) => y - x).slice(0, 10)
      return top.reduce((a, b) => a + b, 0) / m.model.length
    }
    const skewed = await share(1) // theory: H(10)/H(1000) ≈ 0.39
    expect(skewed).toBeGreaterThan(0.33)
    expect(skewed).toBeLessThan(0.45)
    expect(await share(0)).toBeLessThan(0.03) // uniform: ≈ 0.01 plus noise
  })

  it("draws Gamma inter-arrivals with about the requested coefficient of variation", async () => {
    for (const cv of [0.5, 3]) {
      const m = await materialize(generatedTrace({ seed: 9, models: 1, arrival: "gamma", cv, rate: 100, requests: 100_000 }))
      const measured = gapsCv(m.timeMs)
      expect(measured).toBeGreaterThan(cv * 0.85)
      expect(measured).toBeLessThan(cv * 1.15)
    }
    const poisson = gapsCv((await materialize(generatedTrace({ seed: 9, models: 1, arrival: "poisson", requests: 100_000 }))).timeMs)
    expect(poisson).toBeGreaterThan(0.9)
    expect(poisson).toBeLessThan(1.1)
  })

  it("makes on/off arrivals bursty and keeps their long-run rate", async () => {
    const m = await materialize(
      generatedTrace({ seed: 4, models: 1, arrival: "onoff", onMs: 2_000, offMs: 20_000, rate: 50, durationMs: 4 * 3_600_000 })
    )
    const perSecond = m.timeMs.length / (4 * 3600)
    expect(perSecond).toBeGreaterThan(38) // 50/s on average; one seed's 4 h hold ≈ 650 on periods
    expect(perSecond).toBeLessThan(62)
    expect(gapsCv(m.timeMs)).toBeGreaterThan(2.5) // a Poisson process would give ≈ 1
  })

  it("modulates the rate over the day when asked", async () => {
    const period = 3_600_000
    const m = await materialize(
      generatedTrace({ seed: 2, models: 50, arrival: "poisson", diurnalAmplitude: 0.8, diurnalPeriodMs: period, durationMs: period, rate: 20 })
    )
    let rising = 0 // sin > 0: first half of the period
    for (const t of m.timeMs) if (t < period / 2) rising++
    const falling = m.timeMs.length - rising
    // expected ratio (1 + 2a/π) / (1 − 2a/π) ≈ 3.1 for a = 0.8
    expect(rising / falling).toBeGreaterThan(2.5)
    expect(rising / falling).toBeLessThan(3.8)
  })

  it("rejects bad options naming the field", () => {
    expect(() => generatedTrace({ zipf: -1 })).toThrow(/^invalid generate trace options: zipf: Expected a non-negative number, actual -1$/)
    expect(() => generatedTrace({ arrival: "bursty" as never })).toThrow(/arrival: Expected "onoff" \| "gamma" \| "poisson", actual "bursty"/)
    expect(() => generatedTrace({ sizeMedian: "lots" })).toThrow(/sizeMedian: .*invalid byte size "lots"/)
    expect(() => generatedTrace({ models: 2.5, diurnalAmplitude: 2 })).toThrow(/models: Expected an integer, actual 2.5; diurnalAmplitude: /)
  })

  it("decodes as a scenario's trace source, defaults applied, naming a bad field by its path", async () => {
    const decoded = Schema.decodeUnknownEither(TraceSource)({ generate: { models: 10, requests: 100, sizeMedian: "1MiB" } })
    const source = Either.getOrThrow(decoded)
    expect(source.generate).toMatchObject({ models: 10, tenants: 10, seed: 1, sizeMedian: 1024 ** 2 })
    // decoding is idempotent, so an already-decoded source is accepted again
    expect(Schema.decodeUnknownSync(GeneratorOptions)(source.generate)).toEqual(source.generate)
    expect((await materialize(openTrace(source))).timeMs.length).toBe(100)
    expect(() => decodeTraceSource({ generate: { zipf: -1 } })).toThrow(
      /^invalid trace source: generate\.zipf: Expected a non-negative number, actual -1$/
    )
    expect(() => decodeTraceSource({ csv: {} })).toThrow(/^invalid trace source: csv\.path: is missing$/)
    expect(() => decodeTraceSource({ csv: { path: "a.csv" }, generate: {} })).toThrow(/give exactly one trace source: csv, azure, generate, mix or oracleGeneral \(got csv and generate\)/)
    expect(() => decodeTraceSource({ replay: {} })).toThrow(/replay: is unexpected/)
  })
})
