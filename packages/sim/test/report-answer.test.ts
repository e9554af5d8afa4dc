// The report's answer block: the winner, its margin over the runner-up and lru, and ties found by
// comparing whole result rows (never by policy name).
import { describe, expect, it } from "vitest"
import type { PolicyResult } from "../src/index.js"
import { answerSection, isKeepAlive, keepAliveSavings, sweepWinners, tieGroups, tieSentences } from "../src/report/answer.js"
import type { SweepPoint } from "../src/run/scenario-run.js"

const result = (policy: string, over: Partial<PolicyResult> = {}): PolicyResult => ({
  policy,
  requests: 1000,
  hits: 980,
  misses: 20,
  missRatio: 0.02,
  byteMissRatio: 0.018,
  coldStarts: 60,
  coldStartSeconds: 1736.6,
  latencyUs: { p50: 8150, p90: 20000, p99: 268000, p999: 519000 },
  sloAttainment: 0.988,
  peakMemoryBytes: 32 * 2 ** 30,
  meanMemoryBytes: 31.5 * 2 ** 30,
  loads: 5243,
  evictions: 5114,
  failed: 0,
  tenants: [{ tenant: "t1", requests: 1000, misses: 20, coldStarts: 60, p99Us: 268000, sloAttainment: 0.988, shareBytes: 0 }],
  fairness: 1,
  wallSeconds: 1,
  requestsPerSecond: 1000,
  ...over
})

const lru = result("lru")
// Same results as lru, different speed: speed is not a result of the policy.
const ttl = result("ttl", { wallSeconds: 3, requestsPerSecond: 333 })
const hybrid = result("hybrid-histogram", { wallSeconds: 2 })
const adaptive = result("meshkit-adaptive", { coldStartSeconds: 1987.4, missRatio: 0.0213, latencyUs: { p50: 8170, p90: 21000, p99: 286000, p999: 549000 } })
const fifo = result("fifo", { coldStartSeconds: 2930.4, missRatio: 0.0302 })

describe("ties", () => {
  it("groups policies whose every result column is identical, in run order", () => {
    expect(tieGroups([lru, fifo, ttl, hybrid, adaptive]).map((g) => g.map((r) => r.policy))).toEqual([["lru", "ttl", "hybrid-histogram"]])
  })

  it("one differing value anywhere (here one tenant's p99) breaks the tie", () => {
    const close = result("ttl", { tenants: [{ ...lru.tenants[0]!, p99Us: 268001 }] })
    expect(tieGroups([lru, close])).toEqual([])
    expect(tieGroups([lru, result("ttl", { evictions: 5115 })])).toEqual([])
  })

  it("says that keep-alive policies tied with lru never fire their keep-alive", () => {
    expect(isKeepAlive("ttl")).toBe(true)
    expect(isKeepAlive("hybrid-histogram")).toBe(true)
    expect(isKeepAlive("ttl(keepAliveMs=60000)")).toBe(true)
    expect(isKeepAlive("lru")).toBe(false)
    expect(isKeepAlive("no-such-policy")).toBe(false)
    expect(tieSentences([lru, ttl, hybrid])).toEqual([
      "ttl and hybrid-histogram give exactly lru's results here: their keep-alive never fires on this trace " +
        "(identical loads, evictions and memory: no model was unloaded for being idle), so they behave as lru."
    ])
  })

  it("phrases a tie between policies without keep-alive generally", () => {
    const sieve = result("sieve", { coldStartSeconds: 9, missRatio: 0.5 })
    const s3fifo = result("s3fifo", { coldStartSeconds: 9, missRatio: 0.5 })
    expect(tieSentences([sieve, s3fifo])).toEqual(["s3fifo gives exactly sieve's results here (identical in every column)."])
  })
})

describe("the answer", () => {
  it("names the winner, the runner-up that is not tied with it, and the margin both ways agree on", () => {
    const a = answerSection({ results: [fifo, lru, adaptive, ttl, hybrid], mode: "full", where: "4 × 8 GiB", sweep: [] })!
    expect(a.winner.policy).toBe("lru")
    expect(a.runnerUp!.policy).toBe("meshkit-adaptive")
    const text = a.section.text!
    expect(a.section.lead).toBe(true)
    expect(text).toMatch(/^lru wins at 4 × 8 GiB \(ttl and hybrid-histogram tie with it\): 1,736\.6 cold-start seconds, miss ratio 0\.0200, p99 268 ms\./)
    // (1987.4 - 1736.6) / 1736.6 = 14.44 %
    expect(text).toContain("The runner-up, meshkit-adaptive, has 14.4% more cold-start seconds (1,987.4 s, miss ratio 0.0213, p99 286 ms).")
    expect(text).toContain("Ties: ttl and hybrid-histogram give exactly lru's results here: their keep-alive never fires on this trace")
    expect(a.section.table!.rows.map((r) => [r[0], r[1], r[3]])).toEqual([
      ["lru", "winner", "—"],
      ["meshkit-adaptive", "runner-up", "+14.4%"]
    ])
  })

  it("compares the winner with lru when lru is neither winner nor runner-up", () => {
    const best = result("gdsf", { coldStartSeconds: 1000 })
    const second = result("sieve", { coldStartSeconds: 1500 })
    const a = answerSection({ results: [lru, best, second], mode: "full", where: "2 × 1 GiB", sweep: [] })!
    expect(a.winner.policy).toBe("gdsf")
    expect(a.section.text).toContain("Against lru: lru has 73.7% more cold-start seconds")
    expect(a.section.table!.rows.map((r) => r[1])).toEqual(["winner", "runner-up", "baseline"])
  })

  it("ranks by miss ratio in ideal mode and reports an offline bound apart", () => {
    const belady = result("belady", { missRatio: 0.01 })
    const a = answerSection({ results: [fifo, lru, belady], mode: "ideal", where: "one cache of 16 GiB", sweep: [] })!
    expect(a.winner.policy).toBe("lru")
    expect(a.section.text).toContain("Offline bound (need the future, not deployable): belady miss ratio 0.0100 (lru is 2.00× it).")
  })
})

describe("the sweep's winners", () => {
  const point = (policy: string, gib: number, coldStartSeconds: number, meanGiB = gib * 4): SweepPoint => ({
    policy, memoryBytes: gib * 2 ** 30, missRatio: coldStartSeconds / 1e4, byteMissRatio: 0, coldStarts: Math.round(coldStartSeconds * 3), coldStartSeconds, p99Us: 0, instances: 4,
    meanMemoryBytes: meanGiB * 2 ** 30
  })
  it("reads consecutive sizes with the same winners as one range, naming exact ties with =", () => {
    const sweep = [point("lru", 1, 90), point("gdsf", 1, 80), point("lru", 2, 50), point("gdsf", 2, 60), point("lru", 4, 20), point("gdsf", 4, 30), point("lru", 8, 5), point("gdsf", 8, 5)]
    expect(sweepWinners(sweep, "full")).toBe("Across the memory sweep (4 sizes per instance), the fewest cold-start seconds: gdsf at 1 GiB; lru at 2 GiB to 4 GiB; lru = gdsf at 8 GiB.")
    expect(sweepWinners(sweep.filter((p) => p.memoryBytes === 2 ** 30), "full")).toBeUndefined()
  })
})

describe("what keep-alive saves across the sweep", () => {
  const point = (policy: string, gib: number, coldStartSeconds: number, meanGiB: number): SweepPoint => ({
    policy, memoryBytes: gib * 2 ** 30, missRatio: coldStartSeconds / 1e4, byteMissRatio: 0, coldStarts: Math.round(coldStartSeconds * 3), coldStartSeconds, p99Us: 0, instances: 4,
    meanMemoryBytes: meanGiB * 2 ** 30
  })
  it("shows the memory a keep-alive policy frees where it fires, against the cold starts it adds", () => {
    const sweep = [point("lru", 32, 938.7, 122), point("ttl", 32, 938.7, 122), point("lru", 64, 330.6, 224), point("ttl", 64, 727.5, 217)]
    expect(keepAliveSavings(sweep, "full")).toBe(
      "Keep-alive (idle models unloaded without memory pressure): ttl fires from 64 GiB per instance; at 64 GiB it holds 217 GiB on average against lru's 224 GiB (−3.1%), for +120.1% cold-start seconds."
    )
  })
  it("says when keep-alive never fires: memory is under pressure at every swept size", () => {
    const sweep = [point("lru", 8, 1700, 31), point("ttl", 8, 1700, 31), point("hybrid-histogram", 8, 1700, 31), point("lru", 16, 900, 63), point("ttl", 16, 900, 63), point("hybrid-histogram", 16, 900, 63)]
    expect(keepAliveSavings(sweep, "full")).toBe(
      "Keep-alive (idle models unloaded without memory pressure): ttl never fires at any swept size; hybrid-histogram never fires at any swept size. Up to 16 GiB per instance memory is always under pressure, so idle models are evicted before their keep-alive ends."
    )
    expect(keepAliveSavings(sweep.filter((p) => p.policy !== "lru"), "full")).toBeUndefined()
  })
})
