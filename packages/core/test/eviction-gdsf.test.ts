import { describe, expect, it } from "vitest"
import { cacheOf, hit, load } from "./eviction-harness.js"

describe("gdsf eviction", () => {
  it("evicts the lowest H = L + hits × cost / size and ages through L", () => {
    const c = cacheOf("gdsf", 100)
    load(c, "a", 50, 0, { loadCostMs: 100 }) // H = 0 + 100/50 = 2
    load(c, "b", 25, 1, { loadCostMs: 25 }) //  H = 1
    load(c, "c", 25, 2, { loadCostMs: 100 }) // H = 4
    expect(load(c, "d", 25, 3, { loadCostMs: 50 })).toEqual(["b"]) // L = 1; d: H = 1 + 2 = 3
    hit(c, "a", 4) // H = 1 + 2 × 100/50 = 5
    expect(load(c, "e", 50, 5, { loadCostMs: 10 })).toEqual(["d", "c"]) // L = 4; e: H = 4 + 0.2
    expect(load(c, "f", 25, 6, { loadCostMs: 1000 })).toEqual(["e"]) // 4.2 < a's 5
  })

  it("does not advance its clock when a model is unloaded by hand", () => {
    const c = cacheOf("gdsf", 100)
    load(c, "a", 50, 0, { loadCostMs: 50 })
    load(c, "b", 50, 1, { loadCostMs: 500 }) // H = 10
    hit(c, "a", 2) // H = 2
    c.remove("b")
    load(c, "c", 50, 3, { loadCostMs: 50 }) // H = L + 1: 1 with L = 0 (11 had L jumped to 10)
    expect(load(c, "d", 50, 4, { loadCostMs: 50 })).toEqual(["c"])
  })

  it("with cost uniform, ranks by hits / size only", () => {
    const c = cacheOf({ name: "gdsf", options: { cost: "uniform" } }, 100)
    load(c, "big", 60, 0, { loadCostMs: 10_000 }) // 1/60
    load(c, "small", 40, 1, { loadCostMs: 1 }) // 1/40
    expect(load(c, "x", 40, 2)).toEqual(["big"])
  })

  it("rejects unknown options with a clear error", () => {
    expect(() => cacheOf({ name: "gdsf", options: { cost: "free" } }, 100)).toThrow(/gdsf.*cost/s)
  })
})
