import { describe, expect, it } from "vitest"
import { fullMode, handCluster } from "./support/hand-worked.js"
import { policiesOf } from "@meshkit/core"
import {
  defaultCluster,
  generatedTrace,
  materialize,
  arrayTrace,
  simulate,
  tinyTrace,
  type ClusterConfig,
  type PolicyResult,
  type SimConfig,
  type Trace
} from "@meshkit/sim"

/**
 * Full mode, hand-worked. Bandwidth is 1000 bytes/s so that a model of N bytes loads in
 * N ms (plus loadFixedMs); every request's execution time comes from the trace.
 */
const cluster = handCluster

const full = fullMode

const run = async (trace: Trace, cfg: SimConfig): Promise<PolicyResult> => (await simulate(trace, cfg)).result

describe("full mode: loads", () => {
  it("requests for a loading model wait for that one load (single-flight), each a cold start", async () => {
    // A (50 bytes) loads 0 → 50 ms; requests at 0, 10, 20 all start at 50 and take 5 ms; then a warm one.
    const trace = tinyTrace([{ id: "A", size: 50 }], [[0, "A", 5], [10, "A", 5], [20, "A", 5], [100, "A", 5]])
    const r = await run(trace, full(cluster()))
    expect(r).toMatchObject({ requests: 4, hits: 3, misses: 1, loads: 1, coldStarts: 3, evictions: 0 })
    expect(r.coldStartSeconds).toBeCloseTo((50 + 40 + 30) / 1000, 9)
    // latencies 55, 45, 35 and 5 ms: the median (2nd of 4) is 35 ms, the max 55 ms
    expect(r.latencyUs.p50).toBeGreaterThanOrEqual(35_000)
    expect(r.latencyUs.p50).toBeLessThan(35_100)
    expect(r.latencyUs.p999).toBeGreaterThanOrEqual(55_000)
    expect(r.latencyUs.p999).toBeLessThan(55_100)
  })

  it("loads beyond the slot pool queue: one slot loads A, B, C one after another", async () => {
    const trace = tinyTrace(
      [{ id: "A", size: 30 }, { id: "B", size: 30 }, { id: "C", size: 30 }],
      [[0, "A", 0], [0, "B", 0], [0, "C", 0]]
    )
    const r = await run(trace, full(cluster({ maxConcurrentLoads: 1 })))
    expect(r).toMatchObject({ misses: 3, loads: 3, coldStarts: 3 })
    expect(r.coldStartSeconds).toBeCloseTo((30 + 60 + 90) / 1000, 9)
    expect(r.latencyUs.p999).toBeGreaterThanOrEqual(90_000)
    expect(r.latencyUs.p999).toBeLessThan(90_100)
    // two slots: A and B together (0 → 30), C after (30 → 60)
    const two = await run(trace, full(cluster({ maxConcurrentLoads: 2 })))
    expect(two.coldStartSeconds).toBeCloseTo((30 + 30 + 60) / 1000, 9)
  })

  it("load time is fixed + size / bandwidth", async () => {
    const trace = tinyTrace([{ id: "A", size: 40 }], [[0, "A", 0]])
    const r = await run(trace, full(cluster({ loadFixedMs: 25 })))
    expect(r.coldStartSeconds).toBeCloseTo(0.065, 9)
  })

  it("never evicts a model while it serves: the next load waits until it is idle, then for the unload", async () => {
    // A (60) runs 60 → 1060. B (60) arrives at 100: room only by evicting A, which is busy, so B
    // waits; at 1060 A goes, its unload takes 10 ms, B loads 1070 → 1130 and runs 5 ms.
    const trace = tinyTrace([{ id: "A", size: 60 }, { id: "B", size: 60 }], [[0, "A", 1000], [100, "B", 5]])
    const r = await run(trace, full(cluster({ unloadMs: 10 })))
    expect(r).toMatchObject({ misses: 2, loads: 2, evictions: 1, coldStarts: 2 })
    expect(r.coldStartSeconds).toBeCloseTo((60 + 1030) / 1000, 9)
    expect(r.latencyUs.p999).toBeGreaterThanOrEqual(1_060_000)
    expect(r.latencyUs.p999).toBeLessThan(1_061_000)
    expect(r.peakMemoryBytes).toBe(60)
    expect(r.meanMemoryBytes).toBeCloseTo(60, 6)
  })

  it("a model larger than every instance fails its requests instead of waiting forever", async () => {
    const trace = tinyTrace([{ id: "big", size: 200 }, { id: "A", size: 10 }], [[0, "big", 1], [1, "A", 1]])
    const r = await run(trace, full(cluster()))
    expect(r).toMatchObject({ requests: 2, misses: 2, failed: 1, loads: 1 })
    expect(r.sloAttainment).toBe(0.5)
  })

  it("a copy runs at most modelConcurrency requests; the rest queue behind them", async () => {
    const trace = tinyTrace([{ id: "A", size: 10 }], [[0, "A", 0], [100, "A", 10], [100, "A", 10], [100, "A", 10]])
    const r = await run(trace, full(cluster({ modelConcurrency: 1 })))
    // warm requests at 100 finish at 110, 120, 130
    expect(r.coldStarts).toBe(1)
    expect(r.latencyUs.p999).toBeGreaterThanOrEqual(30_000)
    expect(r.latencyUs.p999).toBeLessThan(30_100)
    const wide = await run(trace, full(cluster({ modelConcurrency: 3 })))
    expect(wide.latencyUs.p999).toBeLessThan(10_100)
  })

  it("the SLO counts requests completed within it", async () => {
    const trace = tinyTrace([{ id: "A", size: 50 }], [[0, "A", 5], [100, "A", 5], [200, "A", 5], [300, "A", 5]])
    const r = await run(trace, full(cluster(), { sloMs: 10 }))
    expect(r.sloAttainment).toBe(0.75) // the cold one took 55 ms
  })

  it("the per-tenant breakdown adds up to the totals", async () => {
    const trace = generatedTrace({ seed: 3, models: 60, tenants: 4, rate: 50, durationMs: 120_000, sizeMedian: 20, sizeSigma: 0.5 })
    const r = await run(trace, full(cluster({ instances: 2, memoryBytes: 300, loadFixedMs: 5, exec: { kind: "constant", ms: 1 } })))
    expect(r.tenants).toHaveLength(4)
    const sum = (k: "requests" | "misses" | "coldStarts") => r.tenants.reduce((a, t) => a + t[k], 0)
    expect(sum("requests")).toBe(r.requests)
    expect(sum("misses")).toBe(r.misses)
    expect(sum("coldStarts")).toBe(r.coldStarts)
    for (const t of r.tenants) expect(t.p99Us).toBeGreaterThanOrEqual(1000)
  })
})

describe("full mode: cluster behaviour", () => {
  const spiky = generatedTrace({
    seed: 11,
    models: 300,
    tenants: 6,
    rate: 80,
    durationMs: 600_000,
    sizeMedian: "300MiB",
    sizeSigma: 0.7,
    execMedianMs: 20
  })
  const bigCluster = (over: Partial<ClusterConfig> = {}): ClusterConfig => ({
    ...defaultCluster,
    instances: 4,
    memoryBytes: 8 * 1024 ** 3,
    maxConcurrentLoads: 2,
    loadFixedMs: 100,
    loadBytesPerSecond: 2 * 1024 ** 3,
    modelConcurrency: 4,
    maxCopies: 3,
    ...over
  })

  it("is deterministic for a seed", async () => {
    const cfg = full(bigCluster({ exec: { kind: "lognormal", medianMs: 10, sigma: 0.5 } }), { scaling: "modelmesh", eviction: "gdsf" })
    const a = await run(spiky, cfg)
    const b = await run(spiky, cfg)
    const strip = ({ wallSeconds: _w, requestsPerSecond: _r, ...rest }: PolicyResult) => rest
    expect(strip(b)).toEqual(strip(a))
  })

  it("never reserves more memory than the cluster has", async () => {
    for (const eviction of ["lru", "s3fifo", "ttl"]) {
      const r = await run(spiky, full(bigCluster({ memoryBytes: 4 * 1024 ** 3 }), { eviction, scaling: "modelmesh" }))
      expect(r.peakMemoryBytes).toBeLessThanOrEqual(4 * 4 * 1024 ** 3)
      expect(r.meanMemoryBytes).toBeLessThanOrEqual(r.peakMemoryBytes)
      expect(r.hits + r.misses).toBe(r.requests)
    }
  })

  it("more memory means fewer misses and cold starts", async () => {
    const small = await run(spiky, full(bigCluster({ memoryBytes: 2 * 1024 ** 3 })))
    const large = await run(spiky, full(bigCluster({ memoryBytes: 32 * 1024 ** 3 })))
    expect(large.missRatio).toBeLessThan(small.missRatio)
    expect(large.coldStartSeconds).toBeLessThan(small.coldStartSeconds)
  })

  it("scaling adds copies of a busy model: more loads than models missed, and less queueing", async () => {
    // one very hot model: 6,000 requests/min on a copy that runs 4 at a time for 20 ms
    const hot = tinyTrace(
      [{ id: "hot", size: 100 * 1024 ** 2 }],
      Array.from({ length: 12_000 }, (_, i) => [i * 10, "hot", 30] as const)
    )
    const cfg = bigCluster({ modelConcurrency: 2 })
    const alone = await run(hot, full(cfg))
    const scaled = await run(hot, full(cfg, { scaling: { name: "modelmesh", options: { rpmPerCopy: 2000, intervalMs: 5000 } } }))
    expect(alone.loads).toBe(1)
    expect(scaled.loads).toBe(3) // ceil(6000 / 2000) copies, maxCopies 3
    expect(scaled.latencyUs.p99).toBeLessThan(alone.latencyUs.p99)
  })
})

describe("full mode with zero load and execution time is the ideal cache", () => {
  const trace = generatedTrace({ seed: 5, models: 400, tenants: 3, rate: 200, durationMs: 300_000, sizeMedian: 1000, sizeSigma: 1 })
  const zero = cluster({ memoryBytes: 40_000, loadBytesPerSecond: Infinity, maxConcurrentLoads: 1_000_000 })
  const policies = policiesOf("eviction").map((d) => d.name)

  it.each(policies)("%s: same misses, loads and evictions in both modes", async (eviction) => {
    const materialized = await materialize(trace)
    const t = arrayTrace("zero", trace.models, materialized.timeMs, materialized.model, new Float64Array(materialized.model.length))
    const f = await run(t, full(zero, { eviction }))
    // the one cache's policy draws from the stream instance 0's policy draws from in full mode
    // (seed + 100, policyRng's eviction offset), so a sampling policy picks the same victims
    const i = await run(t, { ...full(zero, { eviction }), mode: "ideal", seed: 1 + 100 })
    expect(f.misses).toBeGreaterThan(0)
    expect({ misses: f.misses, loads: f.loads, evictions: f.evictions }).toEqual({ misses: i.misses, loads: i.loads, evictions: i.evictions })
  })
})
