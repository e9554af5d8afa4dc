// `meshkit sim` as a user runs it: a real process, real files, JSON on stdout.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { policiesOf } from "@meshkit/core"
import { generatedTrace, writeCsvTrace } from "@meshkit/sim"
import { meshkit as run, ROOT } from "./support/meshkit-cli.js"

const SCENARIOS = join(ROOT, "scenarios")

/** meshkit as a user runs it; the Azure sample only where a test points at it. */
const meshkit = (args: string[], env: Record<string, string> = {}) => run(args, { MESHKIT_AZURE_DIR: "", ...env })

const RESULT_KEYS = [
  "policy",
  "requests",
  "hits",
  "misses",
  "missRatio",
  "byteMissRatio",
  "coldStarts",
  "coldStartSeconds",
  "latencyUs",
  "sloAttainment",
  "peakMemoryBytes",
  "meanMemoryBytes",
  "loads",
  "evictions",
  "failed",
  "tenants",
  "fairness",
  "wallSeconds",
  "requestsPerSecond"
].sort()

/** Byte-capacity LRU from its definition, over the CSV the process reads. */
const textbookLru = (rows: ReadonlyArray<readonly [string, number]>, capacity: number): number => {
  const cache = new Map<string, number>()
  let used = 0
  let misses = 0
  for (const [id, size] of rows) {
    if (cache.has(id)) {
      cache.delete(id)
      cache.set(id, size)
      continue
    }
    misses++
    if (size > capacity) continue
    while (used + size > capacity) {
      const [k, s] = cache.entries().next().value as [string, number]
      cache.delete(k)
      used -= s
    }
    cache.set(id, size)
    used += size
  }
  return misses / rows.length
}

describe("meshkit sim (real process)", () => {
  let dir: string
  let csv: string
  let rows: Array<readonly [string, number]>

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "meshkit-sim-cli-"))
    csv = join(dir, "trace.csv")
    await writeCsvTrace(
      generatedTrace({ seed: 4, models: 150, tenants: 3, rate: 40, durationMs: 600_000, sizeMedian: "40MiB", sizeSigma: 0.8, execMedianMs: 5 }),
      csv
    )
    const lines = (await readFile(csv, "utf8")).trim().split("\n")
    const head = lines[0]!.split(",")
    const [mi, si] = [head.indexOf("model"), head.indexOf("size_bytes")]
    const firstSize = new Map<string, number>()
    rows = lines.slice(1).map((l) => {
      const f = l.split(",")
      const id = f[mi]!
      if (!firstSize.has(id)) firstSize.set(id, Number(f[si]))
      return [id, firstSize.get(id)!] as const
    })
  })

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it("--ideal --json: one object per policy with exactly the documented fields; lru is the textbook lru", async () => {
    const r = await meshkit(["sim", "--trace", csv, "--capacity", "256MiB", "--ideal", "--policy", "lru,fifo", "--json"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as Array<Record<string, unknown>>
    expect(out.map((o) => o.policy)).toEqual(["lru", "fifo"])
    for (const o of out) {
      expect(Object.keys(o).sort()).toEqual(RESULT_KEYS)
      expect(Object.keys(o.latencyUs as object).sort()).toEqual(["p50", "p90", "p99", "p999"])
      expect(o.requests).toBe(rows.length)
    }
    expect(out[0]!.missRatio).toBe(textbookLru(rows, 256 * 1024 ** 2))
    const tenants = out[0]!.tenants as Array<Record<string, unknown>>
    expect(tenants.map((t) => Object.keys(t).sort())[0]).toEqual(["coldStarts", "misses", "p99Us", "requests", "shareBytes", "sloAttainment", "tenant"])
    expect(tenants).toHaveLength(3)
  })

  it("without --policy compares every online policy plus the belady bounds; worker threads give the same answers", async () => {
    const args = ["sim", "--trace", csv, "--capacity", "128MiB", "--instances", "2", "--json"]
    const [threads, here] = await Promise.all([meshkit([...args, "--workers", "2"]), meshkit([...args, "--workers", "0"])])
    expect(threads.code).toBe(0)
    expect(here.code).toBe(0)
    const a = JSON.parse(threads.stdout) as Array<Record<string, unknown>>
    const b = JSON.parse(here.stdout) as Array<Record<string, unknown>>
    expect(a.map((o) => o.policy)).toEqual(policiesOf("eviction").map((d) => d.name))
    const strip = (o: Record<string, unknown>) => ({ ...o, wallSeconds: 0, requestsPerSecond: 0 })
    expect(a.map(strip)).toEqual(b.map(strip))
    const lru = a.find((o) => o.policy === "lru")!
    expect((lru.latencyUs as { p99: number }).p99).toBeGreaterThan(0)
    expect(lru.sloAttainment).toBeGreaterThan(0)
    expect(lru.sloAttainment).toBeLessThanOrEqual(1)
    const belady = a.find((o) => o.policy === "belady")!
    expect(belady.misses as number).toBeLessThanOrEqual(lru.misses as number)
    // two processes replay all 11 policies at once: on the shared 2-core machine (load 30+) that
    // alone took 56-61 s, so the default 60 s limit failed runs that were only slow
  }, 180_000)

  it("runs a scenario file with --set, prints the table and writes the report", async () => {
    const scenario = join(dir, "tiny.yaml")
    await writeFile(
      scenario,
      [
        "name: tiny",
        "trace:",
        "  csv: { path: trace.csv }",
        "cluster: { instances: 2, memory: 128MiB, load: { fixedMs: 20, bandwidth: 1GiB } }",
        "policies: { eviction: [lru, gdsf] }",
        "sweep: { memory: [64MiB, 256MiB] }"
      ].join("\n")
    )
    const out = join(dir, "report-tiny")
    const r = await meshkit(["sim", scenario, "--set", "slo.latencyMs=20", "--out", out, "--workers", "0"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^tiny: [\d,]+ requests, full mode, 2 instance\(s\), 0\.13 GiB per instance/)
    expect(r.stdout).toMatch(/\nlru +0\.\d{4} /)
    expect(r.stdout).toMatch(/\ngdsf +0\.\d{4} /)
    expect(r.stdout).toContain(`report: ${join(out, "report.html")}`)
    const json = JSON.parse(await readFile(join(out, "report.json"), "utf8"))
    expect(json.results.map((x: { policy: string }) => x.policy)).toEqual(["lru", "gdsf"])
    expect(json.sweep.map((p: { memoryBytes: number }) => p.memoryBytes)).toEqual(
      [64, 64, 128, 128, 256, 256].map((m) => m * 1024 ** 2)
    )
    expect(json.slo).toEqual({ latencyMs: 20 })
  })

  it("explains what is wrong instead of crashing", async () => {
    const noCapacity = await meshkit(["sim", "--trace", csv])
    expect(noCapacity.code).not.toBe(0)
    expect(noCapacity.stderr).toMatch(/--trace needs --capacity/)

    const badPolicy = await meshkit(["sim", "--trace", csv, "--capacity", "1GiB", "--policy", "lru,bogus", "--json"])
    expect(badPolicy.code).not.toBe(0)
    expect(badPolicy.stderr).toMatch(/policies\.eviction\[1\]: unknown eviction policy "bogus"/)
    expect(badPolicy.stderr).not.toMatch(/\n\s+at /) // a message, not a stack trace

    const unsorted = join(dir, "unsorted.csv")
    await writeFile(unsorted, "time_ms,model,size_bytes\n10,a,100\n5,b,100\n")
    const bad = await meshkit(["sim", "--trace", unsorted, "--capacity", "1GiB", "--policy", "lru", "--workers", "0"])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/unsorted\.csv:3/)

    const azure = await meshkit(["sim", join(SCENARIOS, "azure-functions.yaml"), "--json"])
    expect(azure.code).not.toBe(0)
    expect(azure.stderr).toMatch(/trace\.azure\.dir: environment variable MESHKIT_AZURE_DIR is not set/)
    expect(azure.stderr).toMatch(/--set trace\.azure\.dir=/)
  })
})
