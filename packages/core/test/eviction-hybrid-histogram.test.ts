import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { cacheOf, hit, ids, load } from "./eviction-harness.js"

const MIN = 60_000

describe("hybrid-histogram keep-alive", () => {
  const hybrid = { name: "hybrid-histogram", options: { minSamples: 3, fallbackKeepAliveMs: 10 * MIN } }

  it("uses the fixed keep-alive until the histogram has enough samples", () => {
    const c = cacheOf(hybrid, 100)
    load(c, "a", 10, 0)
    // requests within the same minute add no idle-time sample
    hit(c, "a", 10)
    hit(c, "a", 20)
    expect(c.policy.nextExpiry!()).toBe(20 + 10 * MIN)
    expect(ids(c.expire(20 + 10 * MIN - 1))).toEqual([])
    expect(ids(c.expire(20 + 10 * MIN))).toEqual(["a"])
  })

  it("keeps a model alive to the 99th percentile idle time (upper bin edge) + 10%", () => {
    const c = cacheOf(hybrid, 100)
    load(c, "a", 10, 0)
    for (const t of [2, 4, 6]) hit(c, "a", t * MIN) // three idle times of 2 min → bin 2
    const due = 6 * MIN + 3 * MIN * 1.1
    expect(c.policy.nextExpiry!()).toBeCloseTo(due, 6)
    expect(ids(c.expire(due - 1))).toEqual([])
    expect(ids(c.expire(due))).toEqual(["a"])
  })

  it("remembers a model's histogram after it is unloaded", () => {
    const c = cacheOf(hybrid, 100)
    load(c, "a", 10, 0)
    for (const t of [2, 4, 6]) hit(c, "a", t * MIN)
    expect(ids(c.expire(10 * MIN))).toEqual(["a"])
    // back after 4 idle minutes: samples 2, 2, 2, 4 → p99 in bin 4 → keep alive 5 min + 10%
    load(c, "a", 10, 10 * MIN)
    const due = 10 * MIN + 5 * MIN * 1.1
    expect(ids(c.expire(due - 1))).toEqual([])
    expect(ids(c.expire(due))).toEqual(["a"])
  })

  it("falls back to the fixed keep-alive when most idle times are out of range", () => {
    const c = cacheOf({ name: "hybrid-histogram", options: { minSamples: 3, rangeMs: 10 * MIN, fallbackKeepAliveMs: 30 * MIN } }, 100)
    load(c, "a", 10, 0)
    for (const t of [20, 40, 41, 60]) hit(c, "a", t * MIN) // idle 20, 20, 1, 19 min: 3 of 4 out of range
    expect(c.policy.nextExpiry!()).toBe(60 * MIN + 30 * MIN)
  })

  it("evicts the least recently used under memory pressure", () => {
    const c = cacheOf(hybrid, 30)
    ;["a", "b", "c"].forEach((id, t) => load(c, id, 10, t))
    hit(c, "a", 3)
    expect(load(c, "d", 10, 4)).toEqual(["b"])
  })

  it("keeps alive to the brute-force percentile of every idle time seen so far (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 400 })), { maxLength: 60, size: "max" }), (gaps) => {
        const c = cacheOf({ name: "hybrid-histogram", options: { minSamples: 3 } }, 100)
        let last = 0 // the latest request
        let now = 0 // the clock (an expiry check may have moved it past `last`)
        load(c, "a", 10, 0)
        const bins: number[] = []
        for (const g of gaps) {
          const t = Math.max(last + g * MIN, now + MIN)
          if (c.has("a")) hit(c, "a", t)
          else load(c, "a", 10, t)
          bins.push(Math.floor((t - last) / MIN))
          last = now = t
          const inRange = bins.filter((b) => b < 240)
          let keep = 10 * MIN
          if (bins.length >= 3 && bins.length - inRange.length <= 0.5 * bins.length) {
            const want = Math.ceil(0.99 * inRange.length)
            let b = 0
            while (b < 239 && inRange.filter((x) => x <= b).length < want) b++
            keep = (b + 1) * MIN * 1.1
          }
          expect(c.policy.nextExpiry!()).toBeCloseTo(t + keep, 3)
          expect(c.expire(t + MIN - 1)).toEqual([]) // every keep-alive is at least a minute
          // sometimes let it expire: its history must survive the unload
          if (g % 2 === 1) {
            now = t + keep + 1
            expect(c.expire(now).map((e) => e.id)).toEqual(["a"])
          }
        }
      }),
      { numRuns: 100, seed: 3 }
    )
  })
})
