import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { buildPolicy, makeRng, policiesOf, type ModelLoadStats, type ScalingPolicy } from "@meshkit/core"

const MIN = 60_000
const NOW = 10 * 3600_000

const build = (options: Record<string, unknown> = {}): ScalingPolicy =>
  buildPolicy("scaling", { name: "modelmesh", options }, { rng: makeRng(1) })

/** A model used a second ago, at a low rate, only recently (not steady), on a roomy cluster. */
const stats = (o: Partial<ModelLoadStats> = {}): ModelLoadStats => ({
  id: "m",
  copies: 1,
  minCopies: 0,
  maxCopies: 10,
  rpm: 10,
  lastUsed: NOW - 1000,
  firstUsedInWindow: NOW - 2 * MIN,
  clusterFreeFraction: 0.5,
  ...o
})

const desired = (o: Partial<ModelLoadStats>, options: Record<string, unknown> = {}) => build(options).desiredCopies(stats(o), NOW)

describe("modelmesh scaling", () => {
  it("is registered, asks every 10 s by default, and takes intervalMs as an option", () => {
    expect(policiesOf("scaling").map((d) => d.name)).toEqual(["modelmesh"])
    expect(build().intervalMs).toBe(10_000)
    expect(build({ intervalMs: 2500 }).intervalMs).toBe(2500)
    expect(() => build({ intervalMs: 0 })).toThrow(/intervalMs/)
    expect(() => build({ rpmPerCopy: "fast" })).toThrow(/rpmPerCopy/)
  })

  it("adds copies with the request rate: ceil(rpm / 2000)", () => {
    expect(desired({ rpm: 2000 })).toBe(1)
    expect(desired({ rpm: 2001 })).toBe(2)
    expect(desired({ rpm: 5000 })).toBe(3)
    expect(desired({ rpm: 5000 }, { rpmPerCopy: 1000 })).toBe(5)
  })

  it("caps the rate-driven copies at maxCopies", () => {
    expect(desired({ rpm: 100_000, maxCopies: 4 })).toBe(4)
  })

  it("gives a steadily used model a second copy, even after hours of continuous use (modelmesh#151)", () => {
    expect(desired({ firstUsedInWindow: NOW - 10 * MIN })).toBe(2)
    expect(desired({ firstUsedInWindow: NOW - 3 * 3600_000 })).toBe(2)
  })

  it("no second copy when the model is not steadily used or the cluster is short of room", () => {
    expect(desired({ firstUsedInWindow: NOW - 2 * MIN })).toBe(1) // in use for 2 min only
    expect(desired({ firstUsedInWindow: -Infinity })).toBe(1) // unknown history
    expect(desired({ firstUsedInWindow: NOW - 10 * MIN, lastUsed: NOW - 5 * MIN })).toBe(1) // not used now
    expect(desired({ firstUsedInWindow: NOW - 10 * MIN, clusterFreeFraction: 0.05 })).toBe(1)
    expect(desired({ firstUsedInWindow: NOW - 10 * MIN, clusterFreeFraction: 0.1 })).toBe(2) // exactly 10 % is enough
  })

  it("never removes copies while the model is in use", () => {
    expect(desired({ copies: 4, rpm: 100 })).toBe(4)
  })

  it("an idle model loses its extra copies but keeps one, unless unloadIdle", () => {
    const idle = { copies: 3, rpm: 0, lastUsed: NOW - 11 * MIN, firstUsedInWindow: NOW - 30 * MIN }
    expect(desired(idle)).toBe(1)
    expect(desired(idle, { unloadIdle: true })).toBe(0)
    expect(desired({ ...idle, minCopies: 2 }, { unloadIdle: true })).toBe(2)
    expect(desired({ ...idle, lastUsed: NOW - 9 * MIN })).toBe(3) // not idle yet at 9 of 10 min
    expect(desired({ ...idle, lastUsed: NOW - 3 * MIN }, { idleMs: 2 * MIN })).toBe(1)
  })

  it("a model never used wants no copy unless minCopies asks for some", () => {
    const never = { copies: 0, rpm: 0, lastUsed: -Infinity, firstUsedInWindow: -Infinity }
    expect(desired(never)).toBe(0)
    expect(desired({ ...never, minCopies: 2 })).toBe(2)
  })
})

describe("scaling properties", () => {
  const time = fc.oneof(fc.constant(-Infinity), fc.integer({ min: 0, max: NOW }))
  const statsArb = fc
    .record({
      copies: fc.integer({ min: 0, max: 12 }),
      minCopies: fc.integer({ min: 0, max: 5 }),
      extra: fc.integer({ min: 0, max: 8 }),
      rpm: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e6, noNaN: true })),
      lastUsed: time,
      firstUsedInWindow: time,
      clusterFreeFraction: fc.double({ min: 0, max: 1, noNaN: true })
    })
    .map(({ extra, ...s }): ModelLoadStats => ({ id: "m", ...s, maxCopies: s.minCopies + extra }))
  const optionsArb = fc.record({
    rpmPerCopy: fc.integer({ min: 1, max: 5000 }),
    idleMs: fc.integer({ min: 1, max: 3600_000 }),
    unloadIdle: fc.boolean()
  })

  it("the answer is an integer within [minCopies, maxCopies], ≥ 1 while in use, 0 only when idle with minCopies 0 (or maxCopies 0)", () => {
    fc.assert(
      fc.property(statsArb, optionsArb, (s, o) => {
        const n = build(o).desiredCopies(s, NOW)
        const inUse = NOW - s.lastUsed <= o.idleMs
        if (!Number.isInteger(n) || n < s.minCopies || n > s.maxCopies) return false
        // maxCopies 0 means "never load it": the bounds win over "≥ 1 while in use"
        if (inUse && s.maxCopies >= 1 && n < 1) return false
        if (n === 0 && s.maxCopies >= 1 && (s.minCopies !== 0 || inUse)) return false
        return true
      }),
      { numRuns: 2000 }
    )
  })
})
