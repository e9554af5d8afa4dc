import { describe, expect, it } from "vitest"
import { attribute, cdfMean, summarizeFidelityRuns, type Decomposition, type FidelityResult } from "@meshkit/bench"

// The attribution of a missed fidelity run, on constructed decompositions: which latency
// component the simulator gets most wrong, in the direction of the p99 error.

const base: Decomposition = {
  requests: 10_000,
  coldStarts: 300,
  coldShare: 0.03,
  p99Ms: 200,
  meanMs: 10,
  loadWaitPerColdMs: 60,
  loadMs: 30,
  waitMs: 3,
  serviceMs: 1
}
const loads = { real: 0.025, sim: 0.025 }

describe("fidelity attribution", () => {
  it("names the load wait when the p99 falls among cold starts and the sim waits longer for loads", () => {
    const a = attribute(base, { ...base, p99Ms: 300, loadWaitPerColdMs: 190 }, loads)
    expect(a.component).toBe("loadWaitPerColdMs")
    expect(a.sim).toBe(190)
    expect(a.real).toBe(60)
    expect(a.text).toMatch(/^sim overestimates load wait: 190 ms vs 60\.0 ms per cold start/)
    expect(a.text).toContain("cold starts (3.0 % of requests")
  })

  it("never names the load time, which the two sides time differently by design", () => {
    // real load time is wall time with its event-loop wait; the sim's is the load's cost alone
    const a = attribute(base, { ...base, p99Ms: 120, loadWaitPerColdMs: 30, loadMs: 5 }, loads)
    expect(a.component).toBe("loadWaitPerColdMs")
    expect(a.text).toMatch(/^sim underestimates load wait: 30\.0 ms vs 60\.0 ms per cold start/)
    expect(attribute(base, { ...base, p99Ms: 120, loadWaitPerColdMs: 55, loadMs: 5 }, loads).component).toBeNull()
  })

  it("names the queueing of requests when it outweighs the load wait", () => {
    const warm = { ...base, coldStarts: 50, coldShare: 0.005, p99Ms: 20 }
    // load wait is far off, but on 0.5 % of requests (0.3 ms each): the wait (2 ms each) outweighs it
    const a = attribute(warm, { ...warm, p99Ms: 12, waitMs: 1, loadWaitPerColdMs: 5 }, loads)
    expect(a.component).toBe("waitMs")
    expect(a.text).toMatch(/^sim underestimates queueing beyond service and load wait .*: 1\.00 ms vs 3\.00 ms per request \(the p99 falls among warm requests/)
    const b = attribute(warm, { ...warm, p99Ms: 30, waitMs: 6 }, loads)
    expect(b.component).toBe("waitMs")
    expect(b.text).toContain("sim overestimates queueing")
    // a busy server: the p99 falls among cold starts, but the requests queue outside the handler
    const busyReal = { ...base, p99Ms: 16_000, waitMs: 940, outsideMs: 760, loadWaitPerColdMs: 1289 }
    const c = attribute(busyReal, { ...base, p99Ms: 4900, waitMs: 146, loadWaitPerColdMs: 2020 }, loads)
    expect(c.component).toBe("waitMs")
    expect(c.text).toMatch(/^sim underestimates queueing .*: 146 ms vs 940 ms per request; real: 760 ms per request outside the server's handler.*\(the p99 falls among cold starts/)
  })

  it("names the load wait when it is off in the p99's direction, whatever the load time does", () => {
    // the sim's p99 is high; load time is low (the other way), load wait is high
    const a = attribute(base, { ...base, p99Ms: 260, loadWaitPerColdMs: 80, loadMs: 5 }, loads)
    expect(a.component).toBe("loadWaitPerColdMs")
  })

  it("says nothing stands out when every component is within 20 %", () => {
    const a = attribute(base, { ...base, p99Ms: 260, loadWaitPerColdMs: 66, loadMs: 33 }, loads)
    expect(a.component).toBeNull()
    expect(a.text).toMatch(/^no component is off by more than 20 %/)
  })

  it("integrates a CDF into its mean", () => {
    expect(cdfMean([[10, 0.5], [30, 1]])).toBeCloseTo(20, 9)
    expect(cdfMean([[5, 0.25], [5, 0.5], [5, 0.75], [45, 1]])).toBeCloseTo(15, 9)
    expect(cdfMean([])).toBe(0)
  })
})

// only the fields the summary reads
const run = (realP99: number, simP99: number, hitPoints = 0.1): FidelityResult => {
  const err = Math.abs(simP99 - realP99) / realP99
  return {
    real: { latencyUs: { p50: 1, p99: realP99 } },
    sim: { latencyUs: { p50: 1, p99: simP99 } },
    goal: { hitRatioPoints: hitPoints, p99RelativeError: err, met: hitPoints <= 2 && err <= 0.2 }
  } as unknown as FidelityResult
}

describe("fidelity --repeat summary", () => {
  it("reports min / median / max and passes at 8 of 10 runs within 20 %", () => {
    const runs = [100, 110, 90, 105, 95, 100, 100, 100].map((s) => run(100_000, s * 1000)).concat([run(100_000, 150_000), run(100_000, 40_000)])
    const s = summarizeFidelityRuns(runs)
    expect(s.verdict).toMatchObject({ met: 8, runs: 10, passed: true, requiredShare: 0.8 })
    expect(s.spread.simP99Us).toEqual({ min: 40_000, median: 100_000, max: 150_000 })
    expect(s.spread.p99SignedError.min).toBeCloseTo(-0.6, 9)
    expect(s.spread.p99SignedError.max).toBeCloseTo(0.5, 9)
    expect(s.spread.p99RelativeError.median).toBeCloseTo(0.05, 9)
    expect(s.verdict.text).toMatch(/^8 of 10 runs met the goal.*needed 8 \(80 %\): passed/)
  })

  it("fails at 7 of 10, and a hit ratio off by more than 2 points is a miss too", () => {
    const runs = Array.from({ length: 7 }, () => run(100_000, 100_000)).concat([run(100_000, 130_000), run(100_000, 70_000), run(100_000, 100_000, 2.5)])
    const s = summarizeFidelityRuns(runs)
    expect(s.verdict).toMatchObject({ met: 7, runs: 10, passed: false })
    expect(s.spread.hitRatioPoints.max).toBe(2.5)
  })

  it("takes the mean of the middle two as the median of an even count", () => {
    const s = summarizeFidelityRuns([run(100_000, 100_000), run(300_000, 100_000)])
    expect(s.spread.realP99Us).toEqual({ min: 100_000, median: 200_000, max: 300_000 })
    expect(s.verdict.met).toBe(1)
    expect(s.verdict.passed).toBe(false)
  })
})
