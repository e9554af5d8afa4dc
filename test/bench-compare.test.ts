import { execFile } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

// `meshkit bench compare` as CI runs it: a real process over real files.

const root = join(import.meta.dirname, "..")
const dir = mkdtempSync(join(tmpdir(), "bench-compare-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Fig {
  name: string
  value: number
  unit: string
  better: "higher" | "lower"
  threshold: number | null
  thresholdKind?: "relative" | "absolute"
}

const report = (figs: Fig[], notes: string[] = []) => ({
  format: "meshkit-bench/1",
  name: "t",
  quick: true,
  command: "meshkit bench --quick",
  machine: { cpuModel: "test cpu", cores: 2, node: "v20", platform: "linux", totalMemoryBytes: 1, loadAverage1m: 0, date: "2025-01-01T00:00:00.000Z" },
  wallSeconds: 1,
  figures: figs.map((f) => ({ group: "server-hit", spread: null, thresholdKind: "relative", ...f })),
  notes
})

const ratio = (value: number): Fig => ({ name: "hitThroughputRatio", value, unit: "×", better: "higher", threshold: 0.3 })
const p99Delta = (value: number): Fig => ({ name: "hitP99DeltaMs", value, unit: "ms", better: "lower", threshold: 2, thresholdKind: "absolute" })
const absolute = (value: number): Fig => ({ name: "hitThroughputBare", value, unit: "req/s", better: "higher", threshold: null })

let n = 0
const file = (content: unknown): string => {
  const f = join(dir, `r${n++}.json`)
  writeFileSync(f, typeof content === "string" ? content : JSON.stringify(content))
  return f
}

const meshkit = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ["bin/meshkit.js", ...args], { cwd: root }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr })
    )
  })
const compare = (base: string, next: string) => meshkit(["bench", "compare", base, next])

const rowOf = (md: string, figure: string) => md.split("\n").find((l) => l.startsWith(`| ${figure} |`)) ?? ""

describe("meshkit bench compare", () => {
  it("passes (exit 0) when every gated figure is within its threshold, and prints the whole table", async () => {
    const coldOverhead = (value: number): Fig => ({ name: "coldStartOverheadMs", value, unit: "ms", better: "lower", threshold: 10, thresholdKind: "absolute" })
    const densityIdle: Fig = { name: "densityIdleRssMiB", value: 100, unit: "MiB", better: "lower", threshold: null }
    const base = file(report([ratio(0.95), p99Delta(0.4), absolute(12000), coldOverhead(3), densityIdle]))
    // −15.8 %, +1.7 ms, ungated −50 %, much better, ungated missing; plus a figure the base lacks
    const next = file(report([ratio(0.8), p99Delta(2.1), absolute(6000), coldOverhead(-1), { ...densityIdle, name: "densityPeakRssMiB" }]))
    const r = await compare(base, next)
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("| figure | base | new | change | threshold | |")
    expect(rowOf(r.stdout, "hitThroughputRatio")).toMatch(/0\.95.*0\.8.*−15\.8 %.*−30 %.*✓/)
    expect(rowOf(r.stdout, "hitP99DeltaMs")).toMatch(/\+1\.70 ms.*\+2 ms.*✓/)
    expect(rowOf(r.stdout, "coldStartOverheadMs")).toMatch(/−4 ms.*✓/)
    expect(rowOf(r.stdout, "hitThroughputBare")).toMatch(/not gated \| – \|$/)
    expect(rowOf(r.stdout, "densityPeakRssMiB")).toContain("| new |")
    expect(r.stdout).toContain("Not measured in the new run (not gated): densityIdleRssMiB")
    expect(r.stdout).toContain("✓ no regression")
  })

  it("fails (exit 1) and marks the figure when a ratio regresses beyond its threshold", async () => {
    const r = await compare(file(report([ratio(0.95), p99Delta(0.4)])), file(report([ratio(0.6), p99Delta(0.5)])))
    expect(r.code).toBe(1)
    expect(rowOf(r.stdout, "hitThroughputRatio")).toContain("✗ regressed")
    expect(rowOf(r.stdout, "hitP99DeltaMs")).toContain("✓")
    expect(r.stdout).toContain("1 of 2 gated figures failed")
  })

  it("gates absolute-threshold figures by their difference, in their unit", async () => {
    const r = await compare(file(report([p99Delta(0.4)])), file(report([p99Delta(2.6)])))
    expect(r.code).toBe(1)
    expect(rowOf(r.stdout, "hitP99DeltaMs")).toMatch(/\+2\.20 ms.*✗ regressed/)
  })

  it("reports a gated figure missing from the new run as a failure, with the run's notes", async () => {
    const r = await compare(file(report([ratio(0.9), p99Delta(0.4)])), file(report([p99Delta(0.4)], ["hit: failed: server crashed"])))
    expect(r.code).toBe(1)
    expect(rowOf(r.stdout, "hitThroughputRatio")).toContain("✗ missing")
    expect(r.stdout).toContain("server crashed")
  })

  it("exits 2, not 1, when called with other than two files (a usage error is not a regression)", async () => {
    const good = file(report([ratio(0.9)]))
    const [none, one, three] = await Promise.all([meshkit(["bench", "compare"]), meshkit(["bench", "compare", good]), meshkit(["bench", "compare", good, good, good])])
    for (const r of [none, one, three]) {
      expect(r.code).toBe(2)
      expect(r.stderr).toContain("bench compare needs two files: BASE.json NEW.json")
      expect(r.stdout).toBe("")
    }
  })

  it("names both runs' machines and load, and says when they differ", async () => {
    const base = report([ratio(0.9)])
    const other = { ...report([ratio(0.9)]), machine: { ...base.machine, cpuModel: "other cpu", loadAverage1m: 3.5, loadAverage1mAtEnd: 4.25 } }
    const same = await compare(file(base), file(base))
    expect(same.code).toBe(0)
    expect(same.stdout).toMatch(/- base: .*test cpu × 2, Node v20, load 0,/)
    expect(same.stdout).not.toContain("Different machines")
    const differ = await compare(file(base), file(other))
    expect(differ.code).toBe(0)
    expect(differ.stdout).toMatch(/- new: .*other cpu × 2, Node v20, load 3\.5→4\.25,/)
    expect(differ.stdout).toContain("Different machines or Node versions: only the gated figures")
  })

  it("rejects malformed input with a clear error naming the file (exit 2)", async () => {
    const good = file(report([ratio(0.9)]))
    const notJson = file("{ this is not json")
    const noBetter = report([ratio(0.9)]) as { figures: Array<Record<string, unknown>> }
    delete noBetter.figures[0]!.better
    const bad = file(noBetter)
    const [r1, r2, r3] = await Promise.all([compare(good, notJson), compare(bad, good), compare(join(dir, "no-such.json"), good)])
    expect(r1.code).toBe(2)
    expect(r1.stderr).toContain(notJson)
    expect(r1.stderr).toContain("not valid JSON")
    expect(r2.code).toBe(2)
    expect(r2.stderr).toContain(bad)
    expect(r2.stderr).toContain("figures[0].better: is missing")
    expect(r3.code).toBe(2)
    expect(r3.stderr).toMatch(/no-such\.json: cannot read \(ENOENT\)/)
    expect(r3.stderr).not.toMatch(/at .*\.ts:\d+/) // a message, not a stack trace
  })
})
