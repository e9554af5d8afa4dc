// The scenario's sweep over memory sizes and instance counts, and its cost field for the planner.
import { describe, expect, it } from "vitest"
import { costModel, runScenario, scenarioFrom, ScenarioError, sweepGrid } from "@meshkit/sim"

const GiB = 1024 ** 3
const doc = (extra: Record<string, unknown>) => ({
  trace: { generate: { seed: 2, models: 30, rate: 20, durationMs: 60_000, sizeMedian: "32MiB" } },
  cluster: { instances: 2, memory: "256MiB" },
  policies: { eviction: ["lru", "fifo"] },
  ...extra
})
const errorOf = (d: unknown): string => {
  try {
    scenarioFrom(d, "s.yaml", { env: {} })
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError)
    return (e as ScenarioError).message
  }
  throw new Error("expected the scenario to be rejected")
}

describe("sweep over memory and instance counts", () => {
  it("runs every policy at every (instances, memory) pair, the scenario's own included, in one progress count", async () => {
    const loaded = scenarioFrom(doc({ sweep: { memory: ["128MiB"], instances: [1, 3] } }), "s.yaml", { env: {} })
    let last = { done: 0, total: 0, fraction: 0 }
    const run = await runScenario(loaded, { workers: 0, onProgress: (s) => (last = { done: s.done, total: s.total, fraction: s.fraction ?? -1 }) })
    expect(run.runs.map((r) => r.result.policy)).toEqual(["lru", "fifo"])
    const pairs = [...new Set(run.sweep.map((p) => `${p.instances}×${p.memoryBytes / 2 ** 20}`))]
    expect(pairs).toEqual(["1×128", "1×256", "2×128", "2×256", "3×128", "3×256"])
    expect(run.sweep).toHaveLength(12)
    expect(last).toEqual({ done: 12, total: 12, fraction: 1 })
    // the scenario's own point is the main run, not a second simulation of it
    const main = run.sweep.filter((p) => p.instances === 2 && p.memoryBytes === 256 * 2 ** 20)
    expect(main.map((p) => p.p99Us)).toEqual(run.runs.map((r) => r.result.latencyUs.p99))
    // more instances of the same memory hold more models: fewer cold starts for lru
    const lru = (n: number) => run.sweep.find((p) => p.policy === "lru" && p.instances === n && p.memoryBytes === 128 * 2 ** 20)!.coldStarts
    expect(lru(3)).toBeLessThan(lru(1))
  })

  it("collapses instance counts in ideal mode and is empty when there is nothing beside the scenario's point", () => {
    const main = { memoryBytes: GiB, instances: 4 }
    expect(sweepGrid({ instances: [2, 8] }, main, "ideal")).toEqual([])
    expect(sweepGrid({ memory: [GiB] }, main, "full")).toEqual([])
    expect(sweepGrid({ instances: [2] }, main, "full")).toEqual([{ memoryBytes: GiB, instances: 2 }, main])
    expect(errorOf(doc({ sweep: {} }))).toMatch(/sweep: give memory: \[\.\.\.\] and\/or instances: \[\.\.\.\]/)
    expect(errorOf(doc({ sweep: { instances: [0] } }))).toMatch(/sweep\.instances\[0\]/)
  })
})

describe("cost model", () => {
  it("prices instances and memory per hour, or ranks by total memory without prices", () => {
    const priced = scenarioFrom(doc({ cost: { perGiBHour: 0.01, perInstanceHour: 0.05, currency: "EUR" } }), "s.yaml", { env: {} })
    const m = costModel(priced.scenario.cost)
    expect(m.priced).toBe(true)
    expect(m.of(4, 8 * GiB)).toBeCloseTo(4 * (0.05 + 8 * 0.01), 10)
    expect(m.format(0.52)).toBe("EUR0.5200/h")
    const plain = costModel(scenarioFrom(doc({}), "s.yaml", { env: {} }).scenario.cost)
    expect([plain.priced, plain.of(3, GiB), plain.name]).toEqual([false, 3 * GiB, "total memory"])
    expect(errorOf(doc({ cost: {} }))).toMatch(/cost: give perGiBHour and\/or perInstanceHour above 0/)
    expect(errorOf(doc({ cost: { perGiBHour: -1 } }))).toMatch(/cost\.perGiBHour/)
    expect(errorOf(doc({ cost: { perGiBHour: 1, dollars: 2 } }))).toMatch(/cost\.dollars/)
  })
})
