import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { buildPolicy, copiesToRemove, policiesOf, targetCopies, type ModelLoadStats, type ScalableCopy, type ScalingPolicy } from "@meshkit/core"

const MIN = 60_000

const statsArb: fc.Arbitrary<ModelLoadStats> = fc.record({
  id: fc.constant("m"),
  copies: fc.integer({ min: 1, max: 6 }),
  minCopies: fc.integer({ min: 0, max: 4 }),
  maxCopies: fc.integer({ min: 1, max: 6 }),
  rpm: fc.double({ min: 0, max: 50_000, noNaN: true }),
  lastUsed: fc.integer({ min: 0, max: 60 * MIN }),
  firstUsedInWindow: fc.oneof(fc.constant(-Infinity), fc.integer({ min: 0, max: 60 * MIN })),
  clusterFreeFraction: fc.double({ min: 0, max: 1, noNaN: true })
})

/** a policy answering anything at all, to show the clamp holds whatever a policy says */
const wild = (answer: number): ScalingPolicy => ({ name: "wild", intervalMs: 1000, desiredCopies: () => answer })

describe("scale", () => {
  it("keeps the target within [max(1, min(minCopies, maxCopies)), maxCopies], whatever the policy answers", () => {
    fc.assert(
      fc.property(statsArb, fc.integer({ min: -5, max: 100 }), (s, answer) => {
        const want = targetCopies(wild(answer), s, 60 * MIN)
        expect(want).toBeGreaterThanOrEqual(Math.max(1, Math.min(s.minCopies, s.maxCopies)))
        expect(want).toBeLessThanOrEqual(s.maxCopies)
        if (answer >= 1 && answer <= s.maxCopies && answer >= s.minCopies) expect(want).toBe(answer)
      })
    )
  })

  it.each(policiesOf("scaling").map((d) => d.name))("never asks %s to remove the last copy (that is eviction's call)", (name) => {
    const policy = buildPolicy("scaling", { name, options: { unloadIdle: true } }, { rng: { next: () => 0, int: () => 0 } })
    fc.assert(
      fc.property(statsArb, fc.integer({ min: 0, max: 120 * MIN }), (s, now) => {
        const want = targetCopies(policy, { ...s, lastUsed: Math.min(s.lastUsed, now) }, now)
        expect(want).toBeGreaterThanOrEqual(1)
        expect(want).toBeLessThanOrEqual(s.maxCopies)
      })
    )
  })

  it("removes only idle copies, at most as many as asked, least recently used first (ties by instance)", () => {
    const copy = fc.record({ inFlight: fc.integer({ min: 0, max: 2 }), lastUsed: fc.integer({ min: 0, max: 5 }), instanceIndex: fc.nat(8) })
    fc.assert(
      fc.property(fc.array(copy, { maxLength: 8 }), fc.integer({ min: -1, max: 8 }), (copies: ScalableCopy[], n) => {
        const out = copiesToRemove(copies, n)
        const idle = copies.filter((c) => c.inFlight === 0)
        expect(out.length).toBe(Math.max(0, Math.min(n, idle.length)))
        for (const c of out) expect(c.inFlight).toBe(0)
        for (let k = 1; k < out.length; k++) {
          const a = out[k - 1]!
          const b = out[k]!
          expect(a.lastUsed < b.lastUsed || (a.lastUsed === b.lastUsed && a.instanceIndex <= b.instanceIndex)).toBe(true)
        }
        // nothing kept is older than something removed
        const kept = idle.filter((c) => !out.includes(c))
        if (out.length > 0) for (const c of kept) expect(c.lastUsed).toBeGreaterThanOrEqual(out[out.length - 1]!.lastUsed)
      })
    )
  })
})
