import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { LogHistogram, LogHistogramSet } from "../src/metrics/log-histogram.js"
import { Timeline } from "../src/metrics/timeline.js"

describe("timeline of memory and cold starts", () => {
  it("keeps the exact peak and time-weighted mean", () => {
    const t = new Timeline(1000)
    t.start(0)
    t.setMemory(0, 100) // 100 bytes for 2 s
    t.setMemory(2000, 300) // 300 bytes for 1 s
    t.setMemory(3000, 0) // 0 for 1 s
    expect(t.finish(4000)).toBeCloseTo((100 * 2 + 300 * 1) / 4, 9)
    expect(t.peakBytes).toBe(300)
    const s = t.series()
    expect(s.bucketMs).toBe(1000)
    expect(s.memoryMeanBytes).toEqual([100, 100, 300, 0])
    expect(s.memoryPeakBytes.slice(0, 3)).toEqual([100, 100, 300])
  })

  it("stays within its bucket budget on long runs by merging buckets", () => {
    const t = new Timeline(1000, 8)
    t.start(0)
    for (let i = 0; i < 100; i++) {
      t.setMemory(i * 1000, i)
      t.coldStart(i * 1000)
    }
    const mean = t.finish(100_000)
    const s = t.series()
    expect(s.memoryMeanBytes.length).toBeLessThanOrEqual(8)
    expect(s.bucketMs).toBe(16_000)
    expect(s.coldStarts.reduce((a, b) => a + b, 0)).toBe(100)
    expect(mean).toBeCloseTo(49.5, 9)
    // the buckets still integrate to the same total
    const total = s.memoryMeanBytes.reduce((a, b) => a + b * s.bucketMs, 0)
    expect(total).toBeCloseTo(49.5 * 100_000, 6)
  })
})

describe("per-tenant log histogram", () => {
  it("gives percentiles within 3.2 % of the exact ones", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 300 }), fc.double({ min: 1, max: 100, noNaN: true }), (values, p) => {
        const h = new LogHistogram()
        for (const v of values) h.record(v)
        const sorted = [...values].sort((a, b) => a - b)
        const exact = sorted[Math.max(0, Math.ceil((p / 100) * values.length) - 1)]!
        const got = h.percentile(p)
        expect(got).toBeGreaterThanOrEqual(exact)
        expect(got).toBeLessThanOrEqual(Math.max(exact * 1.032, exact + 1))
      })
    )
  })

  it("is exact for small values and 0 when empty", () => {
    const h = new LogHistogram()
    expect(h.percentile(99)).toBe(0)
    for (const v of [1, 2, 3, 4, 63]) h.record(v)
    expect(h.percentile(50)).toBe(3)
    expect(h.percentile(100)).toBe(63)
  })

  it("as a set (one per tenant in one array) answers as one LogHistogram per tenant does", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: -5, max: 2 ** 32 })), { maxLength: 400 }), (records) => {
        const set = new LogHistogramSet()
        const one = new Map<number, LogHistogram>()
        for (const [i, v] of records) {
          set.record(i, v)
          if (!one.has(i)) one.set(i, new LogHistogram())
          one.get(i)!.record(v)
        }
        for (let i = 0; i <= 45; i++) for (const p of [0, 50, 99, 99.9, 100]) expect(set.percentile(i, p)).toBe(one.get(i)?.percentile(p) ?? 0)
      })
    )
  })
})
