import { describe, expect, it } from "vitest"
import { fullMode, handCluster } from "./support/hand-worked.js"
import { scenarioFrom, simulate, tinyTrace, type ClusterConfig, type PolicyResult, type Trace } from "@meshkit/sim"

/**
 * cluster.runtimeThreads: loads and inferences of an instance share its runtime threads, each
 * doing one thing at a time (a server whose ONNX runtime runs on the JS thread has one). Bandwidth
 * 1000 bytes/s: a model of N bytes loads in N ms; execution times come from the trace.
 */
const cluster = (over: Partial<ClusterConfig> = {}): ClusterConfig => handCluster({ memoryBytes: 1000, ...over })

const full = fullMode

const run = async (trace: Trace, c: ClusterConfig): Promise<PolicyResult> => (await simulate(trace, full(c))).result

const near = (us: number, ms: number) => {
  expect(us).toBeGreaterThanOrEqual(ms * 1000)
  expect(us).toBeLessThan(ms * 1000 + 100)
}

describe("full mode: runtime threads", () => {
  // A loads 0 → 100, runs 100 → 110. At 200 A runs 200 → 210. B (205) is a miss: its load needs
  // the thread, busy until 210, so it loads 210 → 310. A's request at 220 waits for the thread too:
  // it runs 310 → 320, and B's request, queued behind it, 320 → 330.
  const trace = tinyTrace(
    [{ id: "A", size: 100 }, { id: "B", size: 100 }],
    [[0, "A", 10], [200, "A", 10], [205, "B", 10], [220, "A", 10]]
  )

  it("with one thread, an inference waits for a load running there and a load for an inference", async () => {
    const r = await run(trace, cluster({ runtimeThreads: 1 }))
    expect(r).toMatchObject({ requests: 4, misses: 2, loads: 2, coldStarts: 2 })
    // latencies 110, 10, 125, 100 ms: median (2nd of 4) 100, max 125; B waited 205 → 310 for its load
    near(r.latencyUs.p50, 100)
    near(r.latencyUs.p999, 125)
    expect(r.coldStartSeconds).toBeCloseTo((100 + 105) / 1000, 9)
  })

  it("unlimited (0, the default) keeps loads and inferences independent", async () => {
    for (const c of [cluster(), cluster({ runtimeThreads: 0 })]) {
      const r = await run(trace, c)
      // latencies 110, 10, 110, 10
      near(r.latencyUs.p50, 10)
      near(r.latencyUs.p999, 110)
      expect(r.coldStartSeconds).toBeCloseTo(0.2, 9)
    }
  })

  it("two load slots on one thread still load one model at a time", async () => {
    const two = tinyTrace([{ id: "A", size: 30 }, { id: "B", size: 30 }], [[0, "A", 0], [0, "B", 0]])
    expect((await run(two, cluster({ runtimeThreads: 1 }))).coldStartSeconds).toBeCloseTo((30 + 60) / 1000, 9)
    expect((await run(two, cluster({ runtimeThreads: 2 }))).coldStartSeconds).toBeCloseTo((30 + 30) / 1000, 9)
  })

  it("is a scenario field: cluster.runtimeThreads, 0 when absent, a non-negative integer", () => {
    const doc = (extra: Record<string, unknown>) => ({ trace: { generate: { models: 2, requests: 10 } }, cluster: { memory: "1GiB", ...extra } })
    expect(scenarioFrom(doc({ runtimeThreads: 1 }), "s.yaml").cluster.runtimeThreads).toBe(1)
    expect(scenarioFrom(doc({}), "s.yaml").cluster.runtimeThreads).toBe(0)
    expect(() => scenarioFrom(doc({ runtimeThreads: -1 }), "s.yaml")).toThrow(/cluster\.runtimeThreads/)
  })
})

describe("full mode: request overhead", () => {
  it("adds cluster.requestOverheadMs to every latency without holding anything", async () => {
    // A loads 0 → 100 and runs 100 → 110; the request at 105 waits for the thread until 110, runs to 120
    const trace = tinyTrace([{ id: "A", size: 100 }], [[0, "A", 10], [105, "A", 10]])
    const plain = await run(trace, cluster({ runtimeThreads: 1 }))
    const over = await run(trace, cluster({ runtimeThreads: 1, requestOverheadMs: 5 }))
    near(plain.latencyUs.p999, 110)
    near(over.latencyUs.p999, 115)
    near(plain.latencyUs.p50, 15)
    near(over.latencyUs.p50, 20)
    expect(over.coldStartSeconds).toBeCloseTo(plain.coldStartSeconds, 9)
  })
})

describe("full mode: load-time spread", () => {
  // 2,000 models of 10 bytes (10 ms loads), each requested once, 100 ms apart: no contention
  const n = 2000
  const models = Array.from({ length: n }, (_, i) => ({ id: `m${i}`, size: 10 }))
  const trace = () => tinyTrace(models, models.map((m, i) => [i * 100, m.id, 0] as const))
  const big = (over: Partial<ClusterConfig>) => cluster({ memoryBytes: 10 * n, ...over })

  it("cluster.loadSigma spreads each load's time around the model's, keeping the mean", async () => {
    const fixed = await run(trace(), big({}))
    near(fixed.latencyUs.p50, 10)
    near(fixed.latencyUs.p999, 10)
    const spread = await run(trace(), big({ loadSigma: 0.5 }))
    expect(spread.coldStartSeconds / spread.coldStarts).toBeGreaterThan(0.0095)
    expect(spread.coldStartSeconds / spread.coldStarts).toBeLessThan(0.0105)
    // lognormal(σ 0.5, mean 1): median ≈ 0.88, p99 ≈ 2.8 × the load time
    expect(spread.latencyUs.p50).toBeGreaterThan(8_000)
    expect(spread.latencyUs.p50).toBeLessThan(9_500)
    expect(spread.latencyUs.p99).toBeGreaterThan(22_000)
    expect(spread.latencyUs.p99).toBeLessThan(34_000)
    const again = await run(trace(), big({ loadSigma: 0.5 }))
    expect(again.coldStartSeconds).toBe(spread.coldStartSeconds)
  })
})
