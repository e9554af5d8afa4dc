/**
 * `meshkit bench replay --against`: the same scenario replayed on two real builds in one run,
 * interleaved, judged by the scenario's thresholds. Identical builds pass; a build slowed with
 * the server's test-only `--debug-delay-ms` is flagged (exit 1, ✗ in the table, the Markdown
 * appended to $GITHUB_STEP_SUMMARY, the HTML report written); `bench compare` judges the saved
 * report again with the same verdict.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { BIN, removeDir, ROOT, tempDir } from "./server-harness.js"

let dir = ""
let scenario = ""
let slowBuild = ""

const run = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    p.once("exit", (code) => resolve({ code, stdout, stderr }))
  })

beforeAll(async () => {
  dir = await tempDir("replay")
  scenario = join(dir, "replay-test.yaml")
  writeFileSync(
    scenario,
    [
      "name: replay-test",
      "trace:",
      "  generate: { seed: 3, models: 12, tenants: 3, zipf: 0.9, rate: 4, arrival: poisson, sizeMedian: 8MiB, sizeSigma: 0.3, execMedianMs: 2, execSigma: 0.3, durationMs: 120000 }",
      "cluster: { instances: 1, memory: 48MiB, maxConcurrentLoads: 2, load: { fixedMs: 20, bandwidth: 1GiB }, unloadMs: 5, modelConcurrency: 8 }",
      "policies: { eviction: [lru] }",
      // generous latency limits: the machine is shared and noisy; the slowed build answers 300 ms late
      'regression: { p50: "+150%", hitRatio: "-10pt", errors: 0 }',
      ""
    ].join("\n")
  )
  // "another checkout": a bin/meshkit.js that runs this tree's server with every answer delayed
  slowBuild = join(dir, "slow-build")
  mkdirSync(join(slowBuild, "bin"), { recursive: true })
  writeFileSync(
    join(slowBuild, "bin", "meshkit.js"),
    `if (process.argv[2] === "serve") process.argv.push("--debug-delay-ms", "300")\nawait import(${JSON.stringify(BIN)})\n`
  )
})

afterAll(async () => {
  await removeDir(dir)
})

const common = ["--duration", "3", "--minutes", "1", "--slices", "6", "--size-scale", "64", "--memory", "12MiB"]

it("identical builds pass; a slowed build is flagged, in the table, the step summary and the HTML report", async () => {
  const summary = join(dir, "summary.md")
  const same = await run(["bench", "replay", scenario, ...common, "--against", ROOT, "--out", join(dir, "same.json")], { GITHUB_STEP_SUMMARY: summary })
  expect(same.code, same.stderr + same.stdout).toBe(0)
  expect(same.stdout).toContain("**✓ no regression**")
  const sameReport = JSON.parse(readFileSync(join(dir, "same.json"), "utf8"))
  expect(sameReport.kind).toBe("meshkit-bench-replay/v1")
  expect(sameReport.new.requests).toBe(sameReport.base.requests)
  expect(sameReport.new.requests).toBeGreaterThan(100)
  expect(sameReport.new.errors).toBe(0)
  expect(sameReport.base.errors).toBe(0)
  expect(sameReport.new.tenants.length).toBe(3)
  expect(sameReport.new.coldStarts).toBeGreaterThan(0)
  expect(sameReport.new.hitRatio).toBeGreaterThan(0)
  expect(sameReport.new.hitRatio).toBeLessThan(1)
  expect(sameReport.thresholds).toEqual({ p50: "+150%", hitRatio: "-10pt", errors: 0 })

  const slow = await run(["bench", "replay", scenario, ...common, "--new", slowBuild, "--against", ROOT, "--out", join(dir, "slow.json")], { GITHUB_STEP_SUMMARY: summary })
  expect(slow.code, slow.stderr + slow.stdout).toBe(1)
  expect(slow.stdout).toMatch(/\| latency p50 \|[^\n]*\| ✗ \|/)
  expect(slow.stdout).toContain("**✗ regression:**")
  const slowReport = JSON.parse(readFileSync(join(dir, "slow.json"), "utf8"))
  expect(slowReport.new.latencyUs.p50).toBeGreaterThan(300_000)
  expect(slowReport.new.latencyUs.p50).toBeGreaterThan(slowReport.base.latencyUs.p50 + 200_000)

  // both runs appended their table to the step summary
  const md = readFileSync(summary, "utf8")
  expect(md.match(/### meshkit bench replay: replay-test/g)?.length).toBe(2)
  expect(existsSync(join(dir, "slow-compare.html"))).toBe(true)
  expect(readFileSync(join(dir, "slow-compare.html"), "utf8")).toContain("<svg")

  // bench compare reads a saved report: the same verdict (one CLI start each: the machine is slow)
  const again = await run(["bench", "compare", join(dir, "slow.json")])
  expect(again.code).toBe(1)
  expect(again.stdout).toMatch(/\| latency p50 \|[^\n]*\| ✗ \|/)
  // bad input is 2, with one line naming the file
  writeFileSync(join(dir, "junk.json"), "{")
  const bad = await run(["bench", "compare", join(dir, "same.json"), join(dir, "junk.json")])
  expect(bad.code).toBe(2)
}, 120_000)
