import { execFile } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { checkChartsRendered } from "@meshkit/report/browser"
import { ensureEtcd } from "../packages/server/test/support/etcd.js"
import { CHROMIUM_INSTALL_TIMEOUT_MS, ensureChromium } from "./support/chromium.js"

// `meshkit fidelity` end to end on a tiny scenario: a real server process, real ONNX models,
// the calibrated simulator. Checks the shape and sanity of the comparison, not the goal numbers.

const root = join(import.meta.dirname, "..")
const dir = mkdtempSync(join(tmpdir(), "fidelity-test-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
// the report check below needs Debian's chromium: installed by the harness when missing
beforeAll(() => ensureChromium(), CHROMIUM_INSTALL_TIMEOUT_MS)

const run = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ["bin/meshkit.js", "fidelity", ...args], { cwd: root, maxBuffer: 1 << 24 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr })
    )
  })

const scenario = `
name: tiny-fidelity
seed: 3
trace:
  generate: { seed: 5, models: 16, tenants: 2, zipf: 1.0, rate: 40, arrival: poisson, sizeMedian: 32MiB, sizeSigma: 0.4, durationMs: 16000 }
cluster:
  instances: 1
  memory: 192MiB
  maxConcurrentLoads: 2
  modelConcurrency: 4
`

interface Side {
  hitRatio: number
  coldStarts: number
  loads: number
  requests: number
  latencyUs: { p50: number; p99: number }
}

describe("meshkit fidelity", () => {
  it("replays a scenario on the real server and in the simulator and prints both sides as JSON", async () => {
    const file = join(dir, "tiny.yaml")
    writeFileSync(file, scenario)
    const out = join(dir, "report")
    // 16 trace seconds at ×2: 8 s of replay; sizes ÷ 64 → ~0.5 MiB models, budget 6 MiB holds some of them
    const r = await run([file, "--json", "--minutes", "1", "--compress", "2", "--out", out])
    expect(r.code, r.stderr).toBe(0)
    const j = JSON.parse(r.stdout) as { sim: Side; real: Side & { statuses: Record<string, number> }; settings: { requests: number; models: number }; goal: { met: boolean } }
    for (const side of [j.sim, j.real]) {
      expect(side.hitRatio).toBeGreaterThanOrEqual(0)
      expect(side.hitRatio).toBeLessThanOrEqual(1)
      expect(Number.isInteger(side.coldStarts)).toBe(true)
      expect(side.latencyUs.p50).toBeGreaterThan(0)
      expect(side.latencyUs.p99).toBeGreaterThanOrEqual(side.latencyUs.p50)
      expect(side.requests).toBe(j.settings.requests)
      // every model requested is loaded at least once, and every load was waited for by a request
      expect(side.loads).toBeGreaterThanOrEqual(j.settings.models)
      expect(side.coldStarts).toBeGreaterThanOrEqual(side.loads)
      expect(side.hitRatio).toBeCloseTo(1 - side.loads / side.requests, 6)
    }
    expect(j.settings.requests).toBeGreaterThan(200)
    expect(j.real.statuses).toEqual({ "200": j.settings.requests })
    expect(typeof j.goal.met).toBe("boolean")
    expect(r.stderr).toContain("calibration: load")

    for (const f of ["report.html", "report.md", "report.json"]) expect(existsSync(join(out, f)), f).toBe(true)
    expect(readFileSync(join(out, "report.md"), "utf8")).toMatch(/\| hit ratio \|/)
    const check = await checkChartsRendered(join(out, "report.html"))
    expect(check.charts.map((c) => c.id)).toEqual(["fidelity-latency-cdf"])
    expect(check.charts[0]!.series.map((s) => s.name)).toEqual(["real server", "simulator", "simulator, runtime threads unlimited"])
    expect(check.problems).toEqual([])
  }, 180_000)

  it("with --instances 3, replays on a real 3-instance cluster and simulates 3 instances with the same policies", async () => {
    ensureEtcd()
    const file = join(dir, "tiny-cluster.yaml")
    // 3 MiB per instance (96 MiB ÷ 64 × 2) over three instances, up to two copies of a model:
    // heavy eviction churn, so copy entries go stale under the requests' feet; every request must
    // still be answered (a peer's "not here" sends the request on, not to a 503).
    writeFileSync(
      file,
      scenario.replace("name: tiny-fidelity", "name: tiny-cluster").replace("memory: 192MiB", "memory: 96MiB").replace("instances: 1", "instances: 3\n  maxCopies: 2")
    )
    const t0 = Date.now()
    const r = await run([file, "--json", "--instances", "3", "--minutes", "1", "--compress", "2", "--no-report"])
    expect(r.code, r.stderr).toBe(0)
    const j = JSON.parse(r.stdout) as {
      sim: Side
      real: Side & { statuses: Record<string, number> }
      settings: { requests: number; models: number }
      cluster: { instances: number; real: { loads: number; loadsPerInstance: number[]; peakCopies: number; peakListedCopies: number; copySamples: number }; sim: { loads: number; peakCopies: null }; loadsRelativeError: number }
      goal: { met: boolean }
    }
    expect(j.cluster.instances).toBe(3)
    for (const side of [j.sim, j.real]) {
      expect(side.requests).toBe(j.settings.requests)
      expect(side.loads).toBeGreaterThanOrEqual(j.settings.models)
      expect(side.hitRatio).toBeCloseTo(1 - side.loads / side.requests, 6)
      expect(side.latencyUs.p99).toBeGreaterThanOrEqual(side.latencyUs.p50)
    }
    // the loads are every instance's successful loads; the requests reached all three instances
    expect(j.cluster.real.loadsPerInstance).toHaveLength(3)
    expect(j.cluster.real.loadsPerInstance.reduce((a, b) => a + b, 0)).toBe(j.real.loads)
    expect(j.cluster.real.loadsPerInstance.filter((n) => n > 0)).toHaveLength(3)
    expect(j.cluster.sim.loads).toBe(j.sim.loads)
    expect(j.cluster.loadsRelativeError).toBeCloseTo(Math.abs(j.sim.loads - j.real.loads) / j.real.loads, 6)
    // copies, sampled from every instance's own GET /v1/models (held loaded there when a sample
    // began): at least one, never above the models' maxCopies. The shared copy map's entries are
    // not bounded so: an evicted copy's entry lingers until its instance drops it, beside the
    // copy placed meanwhile (peakCopies was that count once, and read 3 on a machine at load 20),
    // so only that it was sampled is checked.
    expect(j.cluster.real.copySamples).toBeGreaterThan(0)
    expect(j.cluster.real.peakCopies).toBeGreaterThanOrEqual(1)
    expect(j.cluster.real.peakCopies).toBeLessThanOrEqual(2)
    expect(j.cluster.real.peakListedCopies).toBeGreaterThanOrEqual(1)
    expect(j.cluster.sim.peakCopies).toBeNull()
    expect(j.real.statuses["200"] ?? 0).toBe(j.settings.requests)
    expect(typeof j.goal.met).toBe("boolean")
    expect(r.stderr).toMatch(/cluster stopped in/)
    // well under a minute on 2 idle cores (about 20 s): the cluster starts, replays 8 s, stops
    console.log(`cluster fidelity case: ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  }, 120_000)

  it("names the bad field of a broken scenario, without starting a server", async () => {
    const file = join(dir, "broken.yaml")
    writeFileSync(file, scenario.replace("memory: 192MiB", "memory: lots"))
    const r = await run([file, "--json"])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain("cluster.memory")
    expect(r.stdout).toBe("")
  })
})
