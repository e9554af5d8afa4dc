// The simulator's report as a reader gets it: `meshkit sim` writes report.json, report.md and a
// self-contained report.html whose charts render in headless Chromium (Debian's chromium at
// /usr/bin/chromium, installed by the harness when missing; when it cannot, the test fails saying so).
import { spawn } from "node:child_process"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { checkChartsRendered } from "@meshkit/report/browser"
import { CHROMIUM_INSTALL_TIMEOUT_MS, ensureChromium } from "./support/chromium.js"

const ROOT = fileURLToPath(new URL("..", import.meta.url))

const SCENARIO = `
name: report-check
description: a small spiky trace for the report test
trace:
  generate: { seed: 3, models: 120, tenants: 4, rate: 40, durationMs: 900000, sizeMedian: 64MiB, execMedianMs: 5 }
cluster: { instances: 2, memory: 1GiB, load: { fixedMs: 50, bandwidth: 1GiB } }
policies: { eviction: [lru, s3fifo, "<script>x</script>"] }
slo: { latencyMs: 50 }
sweep: { memory: [512MiB, 2GiB] }
`

describe("meshkit sim report", () => {
  let dir: string

  beforeAll(async () => {
    ensureChromium()
    dir = await mkdtemp(join(tmpdir(), "meshkit-sim-report-"))
  }, CHROMIUM_INSTALL_TIMEOUT_MS)
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it("rejects a policy name that is not a policy (names from files are never trusted)", async () => {
    const file = join(dir, "bad.yaml")
    await writeFile(file, SCENARIO)
    const r = await run(["sim", file, "--out", join(dir, "bad"), "--workers", "0"])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/policies\.eviction\[2\]: unknown eviction policy "<script>x<\/script>"/)
  })

  it("writes report.json, report.md and report.html with the four charts, all rendered", async () => {
    const file = join(dir, "report-check.yaml")
    await writeFile(file, SCENARIO.replace(`, "<script>x</script>"`, ""))
    const out = join(dir, "out")
    const r = await run(["sim", file, "--out", out, "--workers", "0"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)

    const json = JSON.parse(await readFile(join(out, "report.json"), "utf8"))
    expect(json.results).toHaveLength(2)
    expect(json.sweep).toHaveLength(6)
    expect(Object.keys(json.series)).toEqual(["lru", "s3fifo"])

    const md = await readFile(join(out, "report.md"), "utf8")
    expect(md).toMatch(/\| policy \| miss ratio \|/)
    expect(md).toMatch(/\| lru \| 0\.\d{4} \|/)

    const html = await readFile(join(out, "report.html"), "utf8")
    for (const id of ["latency-cdf", "miss-ratio-vs-memory", "memory-over-time", "cold-starts-over-time"]) {
      expect(html).toContain(`data-chart-id="${id}"`)
    }
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/)

    const shot = join(dir, "meshkit-sim-report.png")
    const check = await checkChartsRendered(join(out, "report.html"), { screenshot: shot })
    expect(check.problems).toEqual([])
    expect(check.charts.map((c) => c.id)).toEqual(
      expect.arrayContaining(["latency-cdf", "miss-ratio-vs-memory", "cold-start-seconds-vs-memory", "memory-over-time", "cold-starts-over-time"])
    )
    // one series per policy; the per-tenant panels draw one series (the policies are its bars)
    for (const c of check.charts) expect(c.series.length).toBe(c.id.startsWith("tenant-") ? 1 : 2)
    expect(check.charts.filter((c) => c.id.startsWith("tenant-")).length).toBe(4)
  })
})

const run = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(ROOT, "bin/meshkit.js"), ...args], { cwd: ROOT, env: { ...process.env, CI: "true" } })
    let stdout = ""
    let stderr = ""
    p.stdout.on("data", (d) => (stdout += d))
    p.stderr.on("data", (d) => (stderr += d))
    p.on("error", reject)
    p.on("close", (code) => resolve({ code, stdout, stderr }))
  })
