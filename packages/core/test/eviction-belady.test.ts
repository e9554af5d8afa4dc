import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { findPolicy } from "@meshkit/core"
import { cacheOf, hit, load } from "./eviction-harness.js"

describe("belady (offline)", () => {
  it("is marked offline", () => {
    expect(findPolicy("eviction", "belady")?.offline).toBe(true)
    expect(findPolicy("eviction", "belady-size")?.offline).toBe(true)
    expect(cacheOf("belady", 10).policy.offline).toBe(true)
  })

  it("evicts the model needed farthest in the future, never-again first", () => {
    const c = cacheOf("belady", 3)
    load(c, "a", 1, 0, { nextUse: 100 })
    load(c, "b", 1, 1, { nextUse: Infinity })
    load(c, "c", 1, 2, { nextUse: 50 })
    expect(load(c, "d", 1, 3, { nextUse: 60 })).toEqual(["b"])
    expect(load(c, "e", 1, 4, { nextUse: 70 })).toEqual(["a"])
    // c is used at 50 and next needed at 200: now it is the farthest
    hit(c, "c", 50, 200)
    expect(load(c, "f", 1, 51, { nextUse: 80 })).toEqual(["c"])
  })
})

describe("belady-size (offline)", () => {
  it("evicts the largest size × time until the next request", () => {
    const c = cacheOf("belady-size", 10)
    load(c, "a", 4, 0, { nextUse: 10 }) // 4 × 10 = 40
    load(c, "b", 2, 0, { nextUse: 30 }) // 2 × 30 = 60
    load(c, "c", 4, 0, { nextUse: 12 }) // 4 × 12 = 48
    expect(load(c, "d", 2, 0, { nextUse: 100 })).toEqual(["b"])
    // at t = 5: a 4 × 5 = 20, c 4 × 7 = 28, d 2 × 95 = 190
    expect(load(c, "e", 2, 5, { nextUse: 6 })).toEqual(["d"])
    // at t = 6: a 16, c 24, e (next 20) 2 × 14 = 28 → e first; then c for the rest
    hit(c, "e", 6, 20)
    expect(load(c, "f", 4, 6, { nextUse: 7 })).toEqual(["e", "c"])
  })

  it("evicts never-again models first, the largest of them first", () => {
    const c = cacheOf("belady-size", 10)
    load(c, "a", 2, 0, { nextUse: Infinity })
    load(c, "b", 5, 0, { nextUse: 1000 })
    load(c, "c", 3, 0, { nextUse: Infinity })
    expect(load(c, "d", 3, 1, { nextUse: 2 })).toEqual(["c"])
  })

  it.each([
    [16, 60, 100],
    [400, 4, 300] // ~120 residents: enough for the bounded walk to re-base its keys now and then
  ])("picks exactly what a scan of every resident picks (property: %i models up to size %i, capacity %i)", (models, maxSize, capacity) => {
    const request = fc.record({
      m: fc.nat(models - 1),
      dt: fc.nat(50),
      next: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 2000 }) }, { weight: 1, arbitrary: fc.constant(Infinity) })
    })
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: maxSize }), { minLength: models, maxLength: models }), fc.array(request, { maxLength: 400, size: "max" }), (sizes, reqs) => {
        const c = cacheOf("belady-size", capacity)
        let now = 0
        for (const r of reqs) {
          now += r.dt
          const id = `m${r.m}`
          const nextUse = now + r.next
          if (c.has(id)) {
            hit(c, id, now, nextUse)
            continue
          }
          const need = c.used + sizes[r.m]! - capacity
          const score = (e: { size: number; nextUse: number }) => (e.nextUse === Infinity ? Infinity : e.size * (e.nextUse - now))
          const ranked = [...c.residents()].sort((a, b) => score(b) - score(a) || b.size - a.size || 0)
          const expected: [number, number][] = []
          for (let freed = 0, i = 0; freed < need; i++) {
            expected.push([score(ranked[i]!), ranked[i]!.size])
            freed += ranked[i]!.size
          }
          const victims = c.admit({ id, tenant: "t", size: sizes[r.m]!, loadCostMs: 1, nextUse }, now)
          if (!victims.ok) throw new Error("admit failed")
          victims.entry.loading = false
          expect(victims.evicted.map((e) => [score(e), e.size])).toEqual(expected)
        }
      }),
      { numRuns: 100, seed: 11 }
    )
  })
})
