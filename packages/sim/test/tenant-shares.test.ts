import { describe, expect, it } from "vitest"
import { fileURLToPath } from "node:url"
import { defaultCluster, jainIndex, loadScenario, mixedTrace, scenarioFrom, simulate, tinyTrace, type SimConfig, type Trace } from "@meshkit/sim"

const SCENARIOS = fileURLToPath(new URL("../../../scenarios/", import.meta.url))

const config = (mode: "ideal" | "full", memoryBytes: number, shares?: SimConfig["shares"], eviction = "lru"): SimConfig => ({
  mode,
  cluster: { ...defaultCluster, instances: 1, memoryBytes, loadFixedMs: 50, loadBytesPerSecond: 1e9, unloadMs: 0, exec: { kind: "constant", ms: 1 } },
  eviction,
  placement: "modelmesh",
  routing: "least-in-flight",
  scaling: "none",
  seed: 1,
  sloMs: 20,
  ...(shares ? { shares } : {})
})

/**
 * A steady tenant cycling over 3 models of 10 bytes, and a flood of one-off models of 10 bytes
 * between its requests, on a cache of 60 bytes.
 */
const noisyTrace = (): Trace => {
  const models = [
    ...["s0", "s1", "s2"].map((id) => ({ id, size: 10, tenant: "steady" })),
    ...Array.from({ length: 400 }, (_, k) => ({ id: `f${k}`, size: 10, tenant: "flood" }))
  ]
  const reqs: Array<readonly [number, string]> = []
  let t = 0
  for (let k = 0; k < 400; k++) {
    reqs.push([(t += 100), `s${k % 3}`])
    reqs.push([(t += 100), `f${k}`])
    reqs.push([(t += 100), `f${(k + 197) % 400}`])
  }
  return tinyTrace(models, reqs)
}

const tenant = (r: Awaited<ReturnType<typeof simulate>>, name: string) => r.result.tenants.find((x) => x.tenant === name)!

describe("fair memory shares in the simulator", () => {
  it.each(["ideal", "full"] as const)("%s mode: the steady tenant keeps its models under its share; without shares the flood evicts them", async (mode) => {
    const trace = noisyTrace()
    const off = await simulate(trace, config(mode, 40))
    const on = await simulate(trace, config(mode, 40, [{ id: "steady", bytes: 30 }]))
    // with its 30 bytes guaranteed, the steady tenant loads each model once
    expect(tenant(on, "steady").coldStarts).toBe(3)
    expect(tenant(off, "steady").coldStarts).toBeGreaterThan(200)
    expect(tenant(on, "steady").shareBytes).toBe(30)
    expect(tenant(off, "steady").shareBytes).toBe(0)
    if (mode === "full") {
      expect(tenant(on, "steady").sloAttainment).toBeGreaterThan(0.98)
      expect(tenant(off, "steady").sloAttainment).toBeLessThan(0.5)
      expect(tenant(on, "steady").p99Us).toBeLessThan(tenant(off, "steady").p99Us)
    }
  })

  it("a fraction share is that fraction of each instance's memory", async () => {
    const trace = noisyTrace()
    const bytes = await simulate(trace, config("full", 40, [{ id: "steady", bytes: 30 }]))
    const frac = await simulate(trace, config("full", 40, [{ id: "steady", fraction: 0.75 }]))
    expect(frac.result.tenants).toEqual(bytes.result.tenants)
  })

  it("no shares and an empty share list give the same run", async () => {
    const trace = noisyTrace()
    for (const mode of ["ideal", "full"] as const) {
      const a = await simulate(trace, config(mode, 40, undefined, "gdsf"))
      const b = await simulate(trace, config(mode, 40, [], "gdsf"))
      const strip = ({ wallSeconds: _w, requestsPerSecond: _r, ...rest }: typeof a.result) => rest
      expect(strip(b.result)).toEqual(strip(a.result))
    }
  })

  it("per-tenant SLO attainment adds up to the total, and fairness is Jain's index over it", async () => {
    const r = (await simulate(noisyTrace(), config("full", 40, [{ id: "steady", bytes: 30 }]))).result
    const within = r.tenants.reduce((s, t) => s + t.sloAttainment * t.requests, 0)
    expect(within / r.requests).toBeCloseTo(r.sloAttainment, 9)
    expect(r.fairness).toBeCloseTo(jainIndex(r.tenants.map((t) => t.sloAttainment)), 12)
  })

  it("shares that do not fit the instance are refused, naming the tenant", async () => {
    await expect(simulate(noisyTrace(), config("full", 40, [{ id: "steady", bytes: 50 }]))).rejects.toThrow(/more than the cache capacity of 40 bytes/)
  })
})

describe("Jain's fairness index", () => {
  it("is 1 when all are equal, 1/n when one tenant gets everything", () => {
    expect(jainIndex([0.9, 0.9, 0.9])).toBeCloseTo(1, 12)
    expect(jainIndex([1, 0, 0, 0])).toBeCloseTo(0.25, 12)
    expect(jainIndex([1, 0.5])).toBeCloseTo(2.25 / 2.5, 12)
    expect(jainIndex([])).toBe(1)
  })
})

describe("scenario tenants", () => {
  const minimal = (extra: Record<string, unknown> = {}) => ({
    trace: { generate: { models: 10, requests: 100 } },
    cluster: { memory: "8GiB" },
    ...extra
  })
  const errorOf = (doc: unknown): string => {
    try {
      scenarioFrom(doc, "s.yaml", { env: {} })
    } catch (e) {
      return (e as Error).message
    }
    throw new Error("expected the scenario to be rejected")
  }

  it("takes bytes, fractions and percentages", () => {
    const l = scenarioFrom(minimal({ tenants: [{ id: "a", memory: "2GiB" }, { id: "b", memory: 0.25 }, { id: "c", memory: "10%" }, { id: "d", memory: 1e9 }] }), "s.yaml")
    expect(l.scenario.tenants.map((t) => t.memory)).toEqual([{ bytes: 2 * 1024 ** 3 }, { fraction: 0.25 }, { fraction: 0.1 }, { bytes: 1e9 }])
    expect(scenarioFrom(minimal(), "s.yaml").scenario.tenants).toEqual([])
  })

  it("names the bad field", () => {
    expect(errorOf(minimal({ tenants: [{ id: "a", memory: "lots" }] }))).toMatch(/tenants\.\[0\]\.memory|tenants.*memory/)
    expect(errorOf(minimal({ tenants: [{ id: "a", memory: "150%" }] }))).toMatch(/at most 100%/)
    expect(errorOf(minimal({ tenants: [{ id: "a", memory: 0.5 }, { id: "a", memory: 0.1 }] }))).toMatch(/tenant "a" is listed twice/)
    expect(errorOf(minimal({ tenants: [{ id: "a", memory: "6GiB" }, { id: "b", memory: 0.5 }] }))).toMatch(/tenants: memory shares add up to .*more than cluster.memory/)
    expect(errorOf(minimal({ tenants: [{ id: "a", memory: "6GiB" }], sweep: { memory: ["4GiB", "8GiB"] } }))).toMatch(/more than a sweep.memory size \(4 GiB|more than a sweep.memory size/)
    expect(errorOf(minimal({ tenants: [{ memory: 0.5 }] }))).toMatch(/tenants.*id.*required|is required/)
  })

  it("the noisy-neighbour scenario has shares, and --set tenants=[] turns them off", async () => {
    const on = await loadScenario(`${SCENARIOS}noisy-neighbour.yaml`)
    expect(on.scenario.tenants.length).toBe(4)
    const off = await loadScenario(`${SCENARIOS}noisy-neighbour.yaml`, { sets: ["tenants=[]"] })
    expect(off.scenario.tenants).toEqual([])
  })
})

describe("mix trace source", () => {
  const part = (seed: number, prefix: string, tenantPrefix: string, rate: number) => ({
    seed, modelPrefix: prefix, tenantPrefix, models: 20, tenants: 2, rate, arrival: "poisson" as const, requests: 300
  })
  const collect = async (t: Trace) => {
    const out: Array<[number, string, string]> = []
    for await (const c of t.chunks()) for (let i = 0; i < c.length; i++) out.push([c.timeMs[i]!, t.models.ids[c.model[i]!]!, t.models.tenants[c.model[i]!]!])
    return out
  }

  it("merges generated parts by time, keeping each part's ids and tenants, and replays the same", async () => {
    const t = mixedTrace([part(1, "a-", "ta-", 50), part(2, "b-", "tb-", 10)])
    const first = await collect(t)
    expect(first.length).toBe(600)
    for (let i = 1; i < first.length; i++) expect(first[i]![0]).toBeGreaterThanOrEqual(first[i - 1]![0])
    expect(first.filter((r) => r[1].startsWith("a-")).every((r) => r[2].startsWith("ta-"))).toBe(true)
    expect(first.filter((r) => r[1].startsWith("b-")).length).toBe(300)
    expect(await collect(t)).toEqual(first)
  })

  it("refuses two parts with the same model prefix", () => {
    expect(() => mixedTrace([part(1, "a-", "t-", 5), part(2, "a-", "t-", 5)])).toThrow(/modelPrefix: "a-" is used by an earlier part/)
  })
})

describe("retrying blocked models with shares (FIFO per tenant)", () => {
  it("a tenant whose oldest blocked model cannot go does not hold back the others; order is kept", async () => {
    const { retryPerTenant } = await import("../src/engine/blocked.js")
    // models 0..5; tenants: 0 → A, 1 → B, 2 → A, 3 → B, 4 → C, 5 → A
    const tenantOf = Int32Array.from([0, 1, 0, 1, 2, 0])
    const blocked = [0, 1, 2, 3, 4, 5]
    const tried: number[] = []
    // A's models cannot go, B's and C's can
    retryPerTenant(blocked, tenantOf, 3, new Set(), (m) => {
      tried.push(m)
      return tenantOf[m] !== 0
    })
    expect(tried).toEqual([0, 1, 3, 4]) // A is tried once, then skipped
    expect(blocked).toEqual([0, 2, 5])
  })

  it("stops once every tenant has been refused", async () => {
    const { retryPerTenant } = await import("../src/engine/blocked.js")
    const tenantOf = Int32Array.from([0, 1, 0, 1])
    const blocked = [0, 1, 2, 3]
    const tried: number[] = []
    retryPerTenant(blocked, tenantOf, 2, new Set(), (m) => (tried.push(m), false))
    expect(tried).toEqual([0, 1])
    expect(blocked).toEqual([0, 1, 2, 3])
  })
})
