import { mkdtempSync, readdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { loadScenario, scenarioFrom, ScenarioError } from "@meshkit/sim"

const SCENARIOS = fileURLToPath(new URL("../../../scenarios/", import.meta.url))
const SAMPLE = fileURLToPath(new URL("../../../../shared/traces/azure-functions-2019-sample/", import.meta.url))

const minimal = () => ({
  trace: { generate: { models: 10 } },
  cluster: { memory: "1GiB" }
})

/** The ScenarioError message for a document, or a failure if it loads. */
const errorOf = (doc: unknown, opts: Parameters<typeof scenarioFrom>[2] = {}): string => {
  try {
    scenarioFrom(doc, "s.yaml", { env: {}, ...opts })
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError)
    return (e as ScenarioError).message
  }
  throw new Error("expected the scenario to be rejected")
}

describe("shipped scenarios", () => {
  const files = readdirSync(SCENARIOS).filter((f) => f.endsWith(".yaml"))

  it("include the default, per-user ranking, few big models and an Azure-format scenario", () => {
    expect(files).toEqual(expect.arrayContaining(["default.yaml", "per-user-ranking.yaml", "few-big-models.yaml", "azure-functions.yaml"]))
  })

  it.each(files)("%s is valid (the Azure one given its trace folder)", async (f) => {
    const l = await loadScenario(join(SCENARIOS, f), { sets: [`trace.azure.dir=${SAMPLE}`].filter(() => f.startsWith("azure")), env: {} })
    expect(l.evictions.length).toBeGreaterThan(0)
    expect(l.cluster.memoryBytes).toBeGreaterThan(0)
  })

  it("the Azure scenario's trace folder is a required parameter with a clear error", async () => {
    const err = await loadScenario(join(SCENARIOS, "azure-functions.yaml"), { env: {} }).catch((e: ScenarioError) => e.message)
    expect(err).toMatch(/trace\.azure\.dir/)
    expect(err).toMatch(/MESHKIT_AZURE_DIR/)
    expect(err).toMatch(/--set trace\.azure\.dir=/)
  })

  it("the Azure scenario takes its folder from the environment too", async () => {
    const l = await loadScenario(join(SCENARIOS, "azure-functions.yaml"), { env: { MESHKIT_AZURE_DIR: SAMPLE } })
    expect(l.source).toMatchObject({ azure: { dir: SAMPLE, minutes: 120 } })
  })
})

describe("scenario validation names the bad field", () => {
  it("a size that is not a size", () => {
    expect(errorOf({ ...minimal(), cluster: { memory: "lots" } })).toMatch(/cluster\.memory: .*invalid byte size "lots"/)
  })

  it("a count out of range", () => {
    expect(errorOf({ ...minimal(), cluster: { memory: "1GiB", instances: 0 } })).toMatch(/cluster\.instances: /)
  })

  it("a missing section", () => {
    expect(errorOf({ trace: { generate: {} } })).toMatch(/cluster: is required/)
  })

  it("a misspelt field", () => {
    expect(errorOf({ ...minimal(), clustr: {} })).toMatch(/clustr: /)
  })

  it("an unknown eviction policy, by position, with the known names", () => {
    const m = errorOf({ ...minimal(), policies: { eviction: ["lru", "nope"] } })
    expect(m).toMatch(/policies\.eviction\[1\]: unknown eviction policy "nope" \(known: lru, fifo/)
  })

  it("a bad policy option", () => {
    const m = errorOf({ ...minimal(), policies: { placement: { name: "modelmesh", options: { shortlistTolerance: 7 } } } })
    expect(m).toMatch(/policies\.placement: placement policy "modelmesh" options: .*shortlistTolerance/s)
  })

  it("a bad trace option, at its path", () => {
    expect(errorOf({ ...minimal(), trace: { generate: { zipf: -1 } } })).toMatch(/trace\.generate\.zipf: /)
  })

  it("two trace sources, or none", () => {
    expect(errorOf({ ...minimal(), trace: { generate: {}, csv: { path: "x.csv" } } })).toMatch(/trace: give exactly one trace source/)
    expect(errorOf({ ...minimal(), trace: {} })).toMatch(/trace: give exactly one trace source/)
  })

  it("a bad memory sweep entry", () => {
    expect(errorOf({ ...minimal(), sweep: { memory: ["1GiB", "x"] } })).toMatch(/sweep\.memory\[1\]: /)
  })

  it("not a mapping at all", () => {
    expect(errorOf(["a"])).toMatch(/a scenario is a YAML mapping/)
  })
})

describe("loading scenario files", () => {
  const dir = mkdtempSync(join(tmpdir(), "meshkit-scenario-"))

  it("applies defaults", () => {
    const l = scenarioFrom(minimal(), "s.yaml", { env: {} })
    expect(l.scenario).toMatchObject({ seed: 1, mode: "full", slo: { latencyMs: 100 } })
    expect(l.scenario.policies).toMatchObject({ placement: "modelmesh", routing: "least-in-flight", scaling: "modelmesh" })
    expect(l.cluster).toMatchObject({ instances: 4, memoryBytes: 1024 ** 3, maxConcurrentLoads: 2, exec: { kind: "constant", ms: 10 } })
    expect(l.evictions).not.toContain("belady") // "online" by default
    expect(scenarioFrom({ ...minimal(), policies: { eviction: "all" } }, "s.yaml").evictions).toContain("belady")
  })

  it("--set overrides a field, parsing the value as YAML", () => {
    const l = scenarioFrom(minimal(), "s.yaml", {
      env: {},
      sets: ["cluster.instances=8", "cluster.memory=2GiB", "policies.eviction=[lru, gdsf]", "slo.latencyMs=50"]
    })
    expect(l.cluster.instances).toBe(8)
    expect(l.cluster.memoryBytes).toBe(2 * 1024 ** 3)
    expect(l.evictions).toEqual(["lru", "gdsf"])
    expect(l.scenario.slo.latencyMs).toBe(50)
    expect(errorOf(minimal(), { sets: ["nokey"] })).toMatch(/--set nokey: expected key\.path=value/)
  })

  it("resolves a trace path in the file against the file's folder, and one from --set against the cwd", async () => {
    const file = join(dir, "s.yaml")
    writeFileSync(file, "trace:\n  csv:\n    path: traces/t.csv\ncluster:\n  memory: 1GiB\n")
    const l = await loadScenario(file, { env: {} })
    expect(l.source).toEqual({ csv: { path: join(dir, "traces/t.csv"), timeScale: 1 } })
    const o = await loadScenario(file, { env: {}, cwd: "/somewhere", sets: ["trace.csv.path=other.csv"] })
    expect(o.source).toMatchObject({ csv: { path: "/somewhere/other.csv" } })
  })

  it("reports bad YAML with its line, and a missing file", async () => {
    const file = join(dir, "bad.yaml")
    writeFileSync(file, "cluster:\n  memory: [1GiB\n")
    await expect(loadScenario(file)).rejects.toThrow(/bad\.yaml:\d+:\d+: not valid YAML/)
    await expect(loadScenario(join(dir, "nope.yaml"))).rejects.toThrow(/cannot read scenario .*nope\.yaml: ENOENT/)
  })
})
