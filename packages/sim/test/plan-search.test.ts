// The planner's search on synthetic, monotone "simulations": the bisection finds the exact
// smallest grid size, the branch and bound agrees with an exhaustive grid at a fraction of the
// runs, and the winner does not depend on the order in which concurrent probes finish.
import { describe, expect, it } from "vitest"
import { paretoFrontier } from "../src/plan/frontier.js"
import { granularityFor, lastIndexWithin, memoryGrid } from "../src/plan/grid.js"
import { meets, violation, type Measured } from "../src/plan/objective.js"
import { searchPlan, type Candidate } from "../src/plan/search.js"

const GiB = 1024 ** 3
const MiB = 1024 ** 2

describe("memory grid", () => {
  it("steps geometrically by the resolution from min to max, on whole MiB", () => {
    const g = memoryGrid(3 * GiB + 12345, 200 * GiB, 0.05, MiB)
    expect(g[0]).toBeGreaterThanOrEqual(3 * GiB + 12345)
    expect(g.at(-1)).toBeGreaterThanOrEqual(200 * GiB)
    for (let i = 1; i < g.length; i++) {
      expect(g[i]! % MiB).toBe(0)
      expect(g[i]!).toBeGreaterThan(g[i - 1]!)
      expect(g[i]! / g[i - 1]!).toBeLessThanOrEqual(1.05 + MiB / g[i - 1]!)
    }
    expect(g.length).toBeGreaterThan(80)
    expect(memoryGrid(GiB, GiB, 0.05, MiB)).toEqual([GiB])
    expect(() => memoryGrid(2 * GiB, GiB, 0.05, MiB)).toThrow(/empty/)
  })

  it("rounds finer for small models, and finds the last size within a budget", () => {
    expect(granularityFor(GiB)).toBe(MiB)
    expect(granularityFor(640 * 1024)).toBe(8192)
    const g = [1, 2, 4, 8, 16]
    expect(lastIndexWithin(g, (m) => m * 3, 24)).toBe(3)
    expect(lastIndexWithin(g, (m) => m * 3, 2)).toBe(-1)
    expect(lastIndexWithin(g, (m) => m, 100)).toBe(4)
  })
})

describe("Pareto frontier", () => {
  it("keeps the points nothing beats on every objective, once each", () => {
    const pts = [
      { c: 1, p: 9, s: 9 },
      { c: 2, p: 5, s: 9 },
      { c: 3, p: 5, s: 9 }, // beaten by c=2
      { c: 3, p: 6, s: 1 }, // best cold starts
      { c: 2, p: 5, s: 9 }, // duplicate of c=2
      { c: 4, p: 1, s: 1 }
    ]
    const f = paretoFrontier(pts, [(x) => x.c, (x) => x.p, (x) => x.s])
    expect(f).toEqual([pts[0], pts[1], pts[3], pts[5]])
    expect(paretoFrontier(pts, [(x) => x.c, (x) => x.p])).toEqual([pts[0], pts[1], pts[5]])
  })
})

describe("objective", () => {
  const m = (p99Us: number, coldStarts = 0, failed = 0): Measured => ({ p99Us, coldStarts, requests: 1000, failed })
  it("meets when p99 and the cold-start rate are within their limits and nothing failed", () => {
    expect(meets(m(250_000), { p99Us: 250_000 })).toBe(true)
    expect(meets(m(250_001), { p99Us: 250_000 })).toBe(false)
    expect(meets(m(1, 20), { p99Us: 250_000, maxColdStartRate: 0.01 })).toBe(false)
    expect(meets(m(1, 10), { p99Us: 250_000, maxColdStartRate: 0.01 })).toBe(true)
    expect(meets(m(1, 0, 1), { p99Us: 250_000 })).toBe(false)
    expect(violation(m(500_000, 30), { p99Us: 250_000, maxColdStartRate: 0.01 })).toBe(3)
  })
})

/**
 * A synthetic cluster: candidate (n instances, policy) needs need(n, policy) bytes per instance;
 * p99 falls smoothly with memory and is within the SLO (100 ms) exactly from that size on.
 */
type Pol = { readonly eviction: string }
const POLICIES: Pol[] = [{ eviction: "a" }, { eviction: "b" }, { eviction: "c" }]
const FACTOR: Record<string, number> = { a: 1, b: 0.8, c: 1.3 }
const need = (n: number, p: Pol): number => (40 * GiB * FACTOR[p.eviction]!) / n ** 0.7 + (n === 1 ? Infinity : 0)
const SLO = 100_000
const synthetic = (c: Candidate<Pol>, memory: number): Measured => ({
  p99Us: SLO * (need(c.instances, c.policies) / memory) ** 0.5,
  coldStarts: Math.round(1e6 / memory),
  requests: 1000,
  failed: 0
})
const candidates = (): Candidate<Pol>[] => {
  const out: Candidate<Pol>[] = []
  for (let n = 1; n <= 8; n++) for (const p of POLICIES) out.push({ instances: n, policies: p, index: out.length })
  return out
}
const cost = (n: number, m: number) => n * m + n * 2 * GiB // memory plus a per-instance overhead

describe("plan search (branch and bound with bisection)", () => {
  const grid = memoryGrid(GiB, 64 * GiB, 0.05, MiB)

  const exhaustive = () => {
    let best: { c: Candidate<Pol>; m: number; cost: number } | undefined
    for (const c of candidates())
      for (const m of grid) {
        if (synthetic(c, m).p99Us > SLO) continue
        const k = cost(c.instances, m)
        if (!best || k < best.cost) best = { c, m, cost: k }
      }
    return best!
  }

  it("finds the exhaustive grid's cheapest configuration with a fraction of the runs, exactly on the grid", async () => {
    let calls = 0
    const r = await searchPlan({
      candidates: candidates(),
      grid,
      cost,
      objective: { p99Us: SLO },
      evaluate: async (c, m) => (calls++, synthetic(c, m)),
      lanes: 1
    })
    const truth = exhaustive()
    expect(r.best!.candidate.instances).toBe(truth.c.instances)
    expect(r.best!.candidate.policies).toEqual(truth.c.policies)
    expect(r.best!.memoryBytes).toBe(truth.m)
    expect(r.simulations).toBe(calls)
    // the exhaustive grid is 24 candidates × |grid| runs; bisection with pruning needs far fewer
    expect(calls).toBeLessThan((candidates().length * grid.length) / 10)
    // tight: one grid step below misses, and so does 60 % of the memory
    const k = grid.indexOf(r.best!.memoryBytes)
    expect(synthetic(r.best!.candidate, grid[k - 1]!).p99Us).toBeGreaterThan(SLO)
    expect(synthetic(r.best!.candidate, 0.6 * r.best!.memoryBytes).p99Us).toBeGreaterThan(SLO)
    // single instances never meet it: missed at the largest size, one run each
    const ones = r.outcomes.filter((o) => o.candidate.instances === 1)
    expect(ones.map((o) => [o.status, o.simulations])).toEqual(POLICIES.map(() => ["missed", 1]))
    // candidates that cannot meet the SLO for less than the best cost one run each (at their cap)
    const dominated = r.outcomes.filter((o) => o.status === "dominated")
    expect(dominated.length).toBeGreaterThan(10)
    expect(dominated.every((o) => o.simulations <= 1)).toBe(true)
    for (const o of r.outcomes) if (o.status === "met") {
      const j = grid.indexOf(o.smallest!.memoryBytes)
      expect(j === 0 || synthetic(o.candidate, grid[j - 1]!).p99Us > SLO).toBe(true)
    }
  })

  it("picks the same winner whatever order concurrent probes finish in", async () => {
    const winners = new Set<string>()
    for (let seed = 1; seed <= 5; seed++) {
      let s = seed
      const jitter = () => ((s = (s * 48271) % 2147483647), s % 7)
      const estimates: number[] = []
      const r = await searchPlan({
        candidates: candidates(),
        grid,
        cost,
        objective: { p99Us: SLO },
        evaluate: (c, m) => new Promise((done) => setTimeout(() => done(synthetic(c, m)), jitter())),
        lanes: 3,
        onEstimate: (n) => estimates.push(n)
      })
      winners.add(`${r.best!.candidate.instances}/${r.best!.candidate.policies.eviction}/${r.best!.memoryBytes}`)
      expect(estimates.length).toBeGreaterThan(0)
      expect(estimates.at(-1)).toBe(r.simulations)
    }
    expect(winners.size).toBe(1)
  })

  it("skips, without a run, candidates whose smallest size already costs more than the best", async () => {
    const pricey = (n: number, m: number) => n * m + n * 10 * GiB
    const r = await searchPlan({ candidates: candidates(), grid, cost: pricey, objective: { p99Us: SLO }, evaluate: async (c, m) => synthetic(c, m), lanes: 1 })
    const skipped = r.outcomes.filter((o) => o.simulations === 0)
    expect(skipped.length).toBeGreaterThan(0)
    for (const o of skipped) {
      expect(o.status).toBe("dominated")
      expect(pricey(o.candidate.instances, grid[0]!)).toBeGreaterThan(r.best!.cost)
    }
  })

  it("reports no best when nothing meets the objective, one run per candidate", async () => {
    const r = await searchPlan({
      candidates: candidates(),
      grid,
      cost,
      objective: { p99Us: SLO / 100 },
      evaluate: async (c, m) => synthetic(c, m),
      lanes: 2
    })
    expect(r.best).toBeUndefined()
    expect(r.outcomes.every((o) => o.status === "missed" && o.simulations === 1)).toBe(true)
    expect(r.simulations).toBe(candidates().length)
  })
})
