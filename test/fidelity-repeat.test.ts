import { execFile } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { tinyFidelityScenario } from "./support/fidelity-scenario.js"

// `meshkit fidelity --repeat 2` end to end on a tiny scenario: two real runs (a fresh server
// each), each with its own calibrated simulator. Checks the shape of the runs, the spread and
// the verdict — never the goal itself: the machine is shared and noisy.

const root = join(import.meta.dirname, "..")
const dir = mkdtempSync(join(tmpdir(), "fidelity-repeat-test-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const run = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ["bin/meshkit.js", "fidelity", ...args], { cwd: root, maxBuffer: 1 << 24 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr })
    )
  })

const scenario = tinyFidelityScenario("tiny-repeat")

interface Spread {
  min: number
  median: number
  max: number
}
interface Run {
  real: { requests: number; latencyUs: { p99: number } }
  sim: { requests: number; latencyUs: { p99: number } }
  goal: { met: boolean; p99RelativeError: number; hitRatioPoints: number }
  decomposition: {
    real: Record<string, number> & { inServerMs?: number; outsideMs?: number; serviceMs: number }
    sim: Record<string, number> & { serviceMs: number }
    attribution: { component: string | null; text: string }
  }
}

describe("meshkit fidelity --repeat", () => {
  it("runs twice, each run calibrated from itself, and reports every run, the spread and a verdict", async () => {
    const file = join(dir, "tiny.yaml")
    writeFileSync(file, scenario)
    const out = join(dir, "report")
    const r = await run([file, "--repeat", "2", "--json", "--minutes", "1", "--out", out])
    const j = JSON.parse(r.stdout) as { runs: Run[]; spread: Record<string, Spread>; verdict: { met: number; runs: number; requiredShare: number; passed: boolean; text: string } }
    expect(j.runs).toHaveLength(2)
    // two servers, two calibrations: the progress names both runs
    expect(r.stderr).toMatch(/run 1\/2: calibration: load/)
    expect(r.stderr).toMatch(/run 2\/2: calibration: load/)
    for (const x of j.runs) {
      expect(x.real.requests).toBe(x.sim.requests)
      expect(x.real.latencyUs.p99).toBeGreaterThan(0)
      expect(x.goal.p99RelativeError).toBeCloseTo(Math.abs(x.sim.latencyUs.p99 - x.real.latencyUs.p99) / x.real.latencyUs.p99, 9)
      for (const side of [x.decomposition.real, x.decomposition.sim]) {
        for (const k of ["loadWaitPerColdMs", "loadMs", "waitMs", "serviceMs", "meanMs", "p99Ms", "coldShare"]) expect(side[k], k).toBeGreaterThanOrEqual(0)
        expect(side.coldShare).toBeLessThanOrEqual(1)
      }
      expect(x.decomposition.real.p99Ms).toBeCloseTo(x.real.latencyUs.p99 / 1000, 6)
      // both sides are given the same service time; the real side's own figures are measured
      expect(x.decomposition.real.serviceMs).toBeCloseTo(x.decomposition.sim.serviceMs, 9)
      expect(x.decomposition.real.eventLoopP99Ms).toBeGreaterThan(0)
      expect(x.decomposition.real.inServerMs! + x.decomposition.real.outsideMs!).toBeGreaterThan(0)
      expect(x.decomposition.attribution.text.length).toBeGreaterThan(10)
    }
    const p99s = j.runs.map((x) => x.real.latencyUs.p99)
    expect(j.spread.realP99Us).toEqual({ min: Math.min(...p99s), median: (p99s[0]! + p99s[1]!) / 2, max: Math.max(...p99s) })
    for (const k of ["simP99Us", "p99RelativeError", "p99SignedError", "hitRatioPoints"]) {
      expect(j.spread[k]!.min, k).toBeLessThanOrEqual(j.spread[k]!.median)
      expect(j.spread[k]!.median, k).toBeLessThanOrEqual(j.spread[k]!.max)
    }
    // the verdict counts the runs that met the goal; the exit code follows it (both runs needed for 80 %)
    const met = j.runs.filter((x) => x.goal.met).length
    expect(j.verdict).toMatchObject({ met, runs: 2, requiredShare: 0.8, passed: met === 2 })
    expect(j.verdict.text).toContain(`${met} of 2 runs met the goal`)
    expect(r.code, r.stderr).toBe(met === 2 ? 0 : 1)

    for (const f of ["report.html", "report.md", "report.json"]) expect(existsSync(join(out, f)), f).toBe(true)
    const md = readFileSync(join(out, "report.md"), "utf8")
    expect(md).toMatch(/\| run \| real p99 \(ms\) \| sim p99 \(ms\) \|/)
    expect(md).toMatch(/\| real p99 \(ms\) \|.*\|.*\|.*\|/)
    expect(md).toContain("Run 2: where the latency goes")
    const saved = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as { runs: unknown[]; verdict: unknown }
    expect(saved.runs).toHaveLength(2)
    expect(saved.verdict).toEqual(j.verdict)
  }, 240_000)

  it("refuses a --repeat that is not a whole number ≥ 1, without starting a server", async () => {
    const r = await run(["--repeat", "0"])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("--repeat")
    const r2 = await run(["--repeat", "two"])
    expect(r2.code).toBe(2)
    expect(r2.stderr).toContain("--repeat")
  })
})
