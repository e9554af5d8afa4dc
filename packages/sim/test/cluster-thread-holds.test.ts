import { describe, expect, it } from "vitest"
import { fullMode, handCluster } from "./support/hand-worked.js"
import { scenarioFrom, simulate, tinyTrace, type ClusterConfig, type PolicyResult, type Trace } from "@meshkit/sim"

/**
 * What holds an instance's runtime thread besides inferences: a load (for its load time; every
 * other model's requests there wait, not those of other instances), an unload
 * (cluster.unloadHoldMs: the server's synchronous session release), and a slowdown over time
 * (cluster.slowdown: a machine shared with other work). Bandwidth 1000 bytes/s: a model of N
 * bytes loads in N ms; execution times come from the trace.
 */
const cluster = (over: Partial<ClusterConfig> = {}): ClusterConfig => handCluster({ runtimeThreads: 1, ...over })

const full = fullMode

/** the run's distinct request latencies, ms (one decimal: the recorder keeps 3 significant digits) */
const latencies = async (trace: Trace, c: ClusterConfig): Promise<{ r: PolicyResult; ms: number[] }> => {
  const o = await simulate(trace, full(c))
  const ms = [...new Set(o.series.latencyCdf.map(([us]) => Math.round(us / 100) / 10))].sort((x, y) => x - y)
  return { r: o.result, ms }
}

/** `ms` holds each of `want` (within the recorder's precision) */
const hasAll = (ms: number[], want: number[]) => {
  for (const w of want) expect(ms.some((x) => Math.abs(x - w) <= Math.max(0.2, w * 0.002)), `${w} ms in ${JSON.stringify(ms)}`).toBe(true)
}

const models = ["A", "B", "C"].map((id) => ({ id, size: 100 }))

describe("full mode: what holds an instance's runtime thread", () => {
  it("a load holds the thread of its own instance: another model's request there waits for it", async () => {
    // 200 bytes. A loads 0 → 100; B (at 10) loads 100 → 200 and A's run waits behind it (A: 200,
    // B: 190). C at 300 evicts A (least recent) and loads 300 → 400; B's request at 301 waits for
    // the thread: it runs 400 → 410 (109), and C's run after it (110).
    const trace = tinyTrace(models, [[0, "A", 0], [10, "B", 0], [200, "B", 0], [300, "C", 0], [301, "B", 10]])
    const { r, ms } = await latencies(trace, cluster({ memoryBytes: 200 }))
    expect(r).toMatchObject({ requests: 5, loads: 3 })
    expect(ms).toEqual([0, 109, 110, 190, 200].map((x) => expect.closeTo(x, 0)))
    // with unlimited threads the same request runs at once (10 ms)
    hasAll((await latencies(trace, cluster({ memoryBytes: 200, runtimeThreads: 0 }))).ms, [10])
  })

  it("a load does not hold the threads of other instances", async () => {
    // two instances of 100 bytes: A and B load at once, one on each (0 → 100), and run 100 → 110.
    // C at 300 evicts the least recent (A) and loads on A's instance 300 → 400 (100); B's request
    // at 301 is on the other instance: it runs at once (10).
    const trace = tinyTrace(models, [[0, "A", 10], [0, "B", 10], [250, "B", 0], [300, "C", 0], [301, "B", 10]])
    const { r, ms } = await latencies(trace, cluster({ instances: 2 }))
    expect(r).toMatchObject({ requests: 5, loads: 3 })
    expect(ms).toEqual([0, 10, 100, 110].map((x) => expect.closeTo(x, 0)))
  })

  it("unloadHoldMs: an eviction's unload holds the thread, for every model's work there", async () => {
    // A loads 0 → 100, runs 100 → 110. B at 200 evicts A: the unload holds the thread 200 → 250,
    // B's load waits for it (250 → 350) and runs 350 → 360: latency 160 instead of 110.
    const trace = tinyTrace(models, [[0, "A", 10], [200, "B", 10]])
    expect((await latencies(trace, cluster())).ms).toEqual([expect.closeTo(110, 0)])
    const held = await latencies(trace, cluster({ unloadHoldMs: 50 }))
    expect(held.ms).toEqual([110, 160].map((x) => expect.closeTo(x, 0)))
    expect(held.r.coldStartSeconds).toBeCloseTo((100 + 150) / 1000, 9)
    // unloadMs still only delays the load: it starts at max(hold end 250, unload end 280)
    hasAll((await latencies(trace, cluster({ unloadHoldMs: 50, unloadMs: 80 }))).ms, [190])
    // unlimited threads: nothing to hold
    expect((await latencies(trace, cluster({ unloadHoldMs: 50, runtimeThreads: 0 }))).ms).toEqual([expect.closeTo(110, 0)])
  })

  it("an unload hold waits for the thread in arrival order, and work queued after it waits for it", async () => {
    // 200 bytes. A loads 0 → 100 (100), B 150 → 250 (100). B runs 300 → 340 (40). C at 310
    // evicts A: the hold (30 ms) waits for B's run and holds 340 → 370; C's load 370 → 470. B's
    // request at 315 queued behind both: 470 → 480 (165); C's run after it (170).
    const trace = tinyTrace(models, [[0, "A", 0], [150, "B", 0], [300, "B", 40], [310, "C", 0], [315, "B", 10]])
    const { ms } = await latencies(trace, cluster({ memoryBytes: 200, unloadHoldMs: 30 }))
    expect(ms).toEqual([40, 100, 165, 170].map((x) => expect.closeTo(x, 0)))
  })

  it("slowdown: work starting in a step takes its cost × that step's factor; after the last, the last factor", async () => {
    // A loads 0 → 200 (100 ms × 2 in step 0), runs 200 → 220 (10 × 2); B at 1200 (step 1, × 3)
    // evicts A, loads 1200 → 1500, runs 1500 → 1530 (330); B at 5000, after the steps: 30.
    const trace = tinyTrace(models, [[0, "A", 10], [1200, "B", 10], [5000, "B", 10]])
    const { ms } = await latencies(trace, cluster({ slowdown: { stepMs: 1000, factors: [2, 3] } }))
    expect(ms).toEqual([30, 220, 330].map((x) => expect.closeTo(x, 0)))
    expect((await latencies(trace, cluster())).ms).toEqual([10, 110].map((x) => expect.closeTo(x, 0)))
  })

  it("is a scenario field: cluster.unloadHoldMs, 0 when absent, non-negative", () => {
    const doc = (extra: Record<string, unknown>) => ({ trace: { generate: { models: 2, requests: 10 } }, cluster: { memory: "1GiB", ...extra } })
    expect(scenarioFrom(doc({ unloadHoldMs: 2.5 }), "s.yaml").cluster.unloadHoldMs).toBe(2.5)
    expect(scenarioFrom(doc({}), "s.yaml").cluster.unloadHoldMs).toBe(0)
    expect(() => scenarioFrom(doc({ unloadHoldMs: -1 }), "s.yaml")).toThrow(/unloadHoldMs/)
  })
})
