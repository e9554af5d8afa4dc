import type { PolicyResult } from "@meshkit/sim"
import { describe, expect, it } from "vitest"
import { judge, type Cell } from "../src/policy/adaptive-check.js"

/** a full-mode cell with these (cold-start seconds, miss ratio) per policy */
const cell = (results: Record<string, [number, number]>, belady?: number): Cell => ({
  scenario: "s",
  mode: belady === undefined ? "full" : "ideal",
  memoryBytes: 1,
  results: new Map(Object.entries(results).map(([p, [cs, mr]]) => [p, { coldStartSeconds: cs, missRatio: mr } as PolicyResult])),
  ...(belady === undefined ? {} : { belady: { missRatio: belady } as PolicyResult })
})

describe("adaptive-check's verdict on a cell", () => {
  it("passes meshkit-adaptive within the tolerance of the best other policy on both metrics", () => {
    const v = judge(cell({ lru: [100, 0.2], gdsf: [120, 0.19], "meshkit-adaptive": [100.5, 0.1915] }), 0.01)
    expect(v.ok).toBe(true)
    expect(v.gaps.map((g) => g.best)).toEqual(["lru", "gdsf"])
  })

  it("fails it past the tolerance on either metric", () => {
    expect(judge(cell({ lru: [100, 0.2], "meshkit-adaptive": [102, 0.2] }), 0.01).ok).toBe(false)
    expect(judge(cell({ lru: [100, 0.2], "meshkit-adaptive": [100, 0.21] }), 0.01).ok).toBe(false)
  })

  it("calls a cell infeasible when no single other policy is within the tolerance on both metrics", () => {
    // lru best on cold-start seconds, next-arrival on the miss ratio, 10 % apart on each
    const split = judge(cell({ lru: [100, 0.22], "next-arrival": [110, 0.2], "meshkit-adaptive": [100, 0.22] }), 0.01)
    expect(split.ok).toBe(false)
    expect(split.feasible).toBe(false)
    const one = judge(cell({ lru: [100, 0.2], "next-arrival": [110, 0.2], "meshkit-adaptive": [105, 0.2] }), 0.01)
    expect(one.ok).toBe(false)
    expect(one.feasible).toBe(true)
  })

  it("holds ideal cells with a Belady bound to the ratio limit", () => {
    expect(judge(cell({ lru: [0, 0.2], "meshkit-adaptive": [0, 0.2] }, 0.18), 0.01).ok).toBe(true)
    const far = judge(cell({ lru: [0, 0.2], "meshkit-adaptive": [0, 0.2] }, 0.1), 0.01)
    expect(far.beladyRatio).toBeCloseTo(2)
    expect(far.ok).toBe(false)
  })
})
