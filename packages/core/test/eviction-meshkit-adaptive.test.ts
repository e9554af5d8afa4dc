import { describe, expect, it } from "vitest"
import { cacheOf, hit, load } from "./eviction-harness.js"

const fixedSplit = (share: number) => ({
  name: "meshkit-adaptive",
  options: { probation: share, minProbation: share, maxProbation: share, adaptStep: 0 }
})

describe("meshkit-adaptive eviction", () => {
  it("filters one-hit models in probation and orders main by GDSF priority", () => {
    const c = cacheOf(fixedSplit(0.5), 40) // probation 20, main 20
    load(c, "a", 10, 0, { loadCostMs: 100 })
    load(c, "b", 10, 1, { loadCostMs: 10 })
    load(c, "c", 10, 2, { loadCostMs: 50 })
    load(c, "d", 10, 3, { loadCostMs: 1 })
    for (const id of ["a", "b", "c"]) hit(c, id, 4)
    // a, b, c (2 requests) are promoted on their way out of probation; d (1 request) goes
    expect(load(c, "e", 10, 5)).toEqual(["d"])
    // main (30) is over its share: lowest H = hits × cost / size: a 20, b 2, c 10 → b; L = 2
    expect(load(c, "f", 10, 6)).toEqual(["b"])
    hit(c, "c", 7) // H = 2 + 3 × 50 / 10 = 17
    // main (a, c) = 20 is within its share: probation's tail e goes
    expect(load(c, "g", 10, 8)).toEqual(["e"])
    // b comes back from the ghost straight into main (with its 2 requests + 1: H = 2 + 3 = 5)
    expect(load(c, "b", 10, 9, { loadCostMs: 10 })).toEqual(["f"])
    // main (a, c, b) = 30 is over: b has the lowest H; had b entered probation, g would go
    expect(load(c, "h", 10, 10)).toEqual(["b"])
  })

  it("grows probation when models evicted from it come back (ARC-style)", () => {
    const run = (adaptStep: number) => {
      const c = cacheOf({ name: "meshkit-adaptive", options: { probation: 0.25, minProbation: 0.25, maxProbation: 0.75, adaptStep } }, 40)
      ;["a", "b", "c", "d"].forEach((id, t) => load(c, id, 10, t))
      hit(c, "a", 4)
      hit(c, "b", 4)
      expect(load(c, "e", 10, 5)).toEqual(["c"]) // a, b promoted
      expect(load(c, "c", 10, 6)).toEqual(["d"]) // c returns from the ghost into main
      return load(c, "f", 10, 7)
    }
    // learned: probation target 10 → 20, so main (30) is over its 20 and gives up a
    expect(run(1)).toEqual(["a"])
    // fixed: main (30) is within its 30, so probation's e goes
    expect(run(0)).toEqual(["e"])
  })
})
