import { describe, expect, it } from "vitest"
import { defaultCluster, generatedTrace, scenarioFrom, simulate, tinyTrace, type ClusterConfig, type PolicyResult, type SimConfig, type Trace } from "@meshkit/sim"

/**
 * Dynamic batching in full mode, hand-worked: model A is resident after its first request; every
 * request takes 10 ms alone; a batch of k takes 10 × (1 + rowCost × (k − 1)) ms.
 */
const cluster = (over: Partial<ClusterConfig> = {}): ClusterConfig => ({
  ...defaultCluster,
  instances: 1,
  memoryBytes: 1000,
  loadFixedMs: 0,
  loadBytesPerSecond: 1000,
  unloadMs: 0,
  exec: { kind: "constant", ms: 10 },
  modelConcurrency: 4,
  maxCopies: 1,
  ...over
})
const full = (c: ClusterConfig): SimConfig => ({ mode: "full", cluster: c, eviction: "lru", placement: "modelmesh", routing: "least-in-flight", scaling: "none", seed: 1, sloMs: 1000 })
const run = async (trace: Trace, cfg: SimConfig): Promise<PolicyResult> => (await simulate(trace, cfg)).result
const dynamic = (options: Record<string, unknown>, rowCost = 0.5) => ({ policy: { name: "dynamic", options }, rowCost })

describe("full mode: dynamic batching (the core batching policy)", () => {
  it("requests waiting for a load run as one batch when it completes", async () => {
    // A loads 0 → 10 ms (10 bytes); 4 requests wait; one batch of 4: 10 × (1 + 0.5 × 3) = 25 ms → all answered at 35 ms.
    const trace = tinyTrace([{ id: "A", size: 10 }], [[0, "A", 10], [1, "A", 10], [2, "A", 10], [3, "A", 10]])
    const r = await run(trace, full(cluster({ batching: dynamic({ maxBatchSize: 8 }) })))
    expect(r).toMatchObject({ requests: 4, coldStarts: 4 })
    expect(r.latencyUs.p999).toBeGreaterThanOrEqual(35_000)
    expect(r.latencyUs.p999).toBeLessThan(35_100)
    expect(r.latencyUs.p50).toBeGreaterThanOrEqual(33_000)
  })

  it("without batching the same requests run up to modelConcurrency at once, each 10 ms", async () => {
    const trace = tinyTrace([{ id: "A", size: 10 }], [[0, "A", 10], [1, "A", 10], [2, "A", 10], [3, "A", 10]])
    const r = await run(trace, full(cluster()))
    expect(r.latencyUs.p999).toBeGreaterThanOrEqual(20_000)
    expect(r.latencyUs.p999).toBeLessThan(20_100)
  })

  it("queues arrivals while a batch runs and takes at most maxBatchSize of them next", async () => {
    // resident from t=10; a request at 20 runs alone (20 → 30); 3 arrive meanwhile; maxBatchSize 2:
    // batch [21, 22] runs 30 → 45; then [23] runs 45 → 55.
    const trace = tinyTrace([{ id: "A", size: 10 }], [[0, "A", 0], [20, "A", 10], [21, "A", 10], [22, "A", 10], [23, "A", 10]])
    const r = await run(trace, full(cluster({ batching: dynamic({ maxBatchSize: 2 }) })))
    expect(r.latencyUs.p999).toBeGreaterThanOrEqual(32_000) // 23 → 55
    expect(r.latencyUs.p999).toBeLessThan(32_100)
  })

  it("waits up to maxBatchDelay for company when the model is idle", async () => {
    // resident from t=10; requests at 20 and 23; delay 5 ms: one batch at 25, 25 → 40.
    const trace = tinyTrace([{ id: "A", size: 10 }], [[0, "A", 0], [20, "A", 10], [23, "A", 10]])
    const r = await run(trace, full(cluster({ batching: dynamic({ maxBatchSize: 8, maxBatchDelayMs: 5 }) })))
    expect(r.latencyUs.p999).toBeGreaterThanOrEqual(20_000) // 20 → 40
    expect(r.latencyUs.p999).toBeLessThan(20_100)
  })

  it("under load, batching serves a hot model's requests with a lower tail than running them one by one", async () => {
    const trace = generatedTrace({ models: 5, tenants: 1, rate: 400, arrival: "poisson", zipf: 1, sizeMedian: 10, sizeSigma: 0, durationMs: 30_000, seed: 3 })
    const c = { modelConcurrency: 1, exec: { kind: "constant" as const, ms: 8 } }
    const off = await run(trace, full(cluster(c)))
    const on = await run(trace, full(cluster({ ...c, batching: dynamic({ maxBatchSize: 32 }, 0.05) })))
    expect(on.requests).toBe(off.requests)
    expect(on.latencyUs.p99).toBeLessThan(off.latencyUs.p99)
  })
})

describe("scenario: cluster.batching", () => {
  const doc = (batching: unknown) => ({ trace: { generate: { models: 10 } }, cluster: { memory: "1GiB", batching } })

  it("defaults to the dynamic policy and a row cost of 0.06 (as measured)", () => {
    const s = scenarioFrom(doc({}), "s.yaml", { env: {} })
    expect(s.cluster.batching).toEqual({ policy: "dynamic", rowCost: 0.06 })
  })

  it("names a bad batching policy or option by its field", () => {
    expect(() => scenarioFrom(doc({ policy: "greedy" }), "s.yaml", { env: {} })).toThrow(/cluster\.batching\.policy.*unknown batching policy "greedy"/)
    expect(() => scenarioFrom(doc({ policy: { name: "dynamic", options: { maxBatchSize: -1 } } }), "s.yaml", { env: {} })).toThrow(/cluster\.batching\.policy.*maxBatchSize/s)
  })
})
