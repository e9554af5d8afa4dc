import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { tinyFidelityScenario } from "./support/fidelity-scenario.js"
import { meshkit } from "./support/meshkit-cli.js"

// `meshkit fidelity --record FILE` keeps a real run; `--from-record FILE` simulates it again
// without a server. The run's own measurements calibrate the simulator: the JS thread's hold per
// load and per unload (the server's meshkit_js_thread_* counters), and its core share over time.

const dir = mkdtempSync(join(tmpdir(), "fidelity-record-test-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const run = (args: string[]) => meshkit(["fidelity", ...args])

const scenario = tinyFidelityScenario("tiny-record")

interface Result {
  real: { requests: number; loads: number; latencyUs: { p99: number } }
  sim: { requests: number; loads: number; latencyUs: { p99: number } }
  calibration: { loadLevel: string; unloadHoldMs: number; loadFixedMs: number; slowdown?: { steps: number; min: number; max: number }; execLevel?: number }
  diagnostics: { realLoadHoldMs: number; realUnloadHoldMs: number; realMeanLoadMs: number }
}

describe("meshkit fidelity --record / --from-record", () => {
  it("records a real run, calibrates from its measured JS-thread holds, and simulates it again from the file", async () => {
    const file = join(dir, "tiny.yaml")
    writeFileSync(file, scenario)
    const rec = join(dir, "run.json")
    const r = await run([file, "--json", "--minutes", "1", "--no-report", "--record", rec])
    expect(r.code, r.stderr).toBe(0)
    expect(existsSync(rec)).toBe(true)
    const live = JSON.parse(r.stdout) as Result
    // the server measured how long its loads held the JS thread, and it is at most their wall time
    expect(live.real.loads).toBeGreaterThan(0)
    expect(live.diagnostics.realLoadHoldMs).toBeGreaterThan(0)
    expect(live.diagnostics.realLoadHoldMs).toBeLessThanOrEqual(live.diagnostics.realMeanLoadMs * 1.05)
    expect(live.calibration.loadLevel).toBe("in-run-hold")
    expect(live.calibration.slowdown?.steps).toBeGreaterThan(0)

    // again from the file: the same real side, the same calibration, the same simulation
    const again = await run([file, "--json", "--minutes", "1", "--no-report", "--from-record", rec])
    expect(again.code, again.stderr).toBe(0)
    const off = JSON.parse(again.stdout) as Result
    expect(off.real).toEqual(live.real)
    expect(off.calibration.loadFixedMs).toBeCloseTo(live.calibration.loadFixedMs, 9)
    expect(off.sim.loads).toBe(live.sim.loads)
    expect(Math.abs(off.sim.latencyUs.p99 - live.sim.latencyUs.p99)).toBeLessThanOrEqual(live.sim.latencyUs.p99 * 0.01 + 10)

    // the model before the hold measurements, on the same recorded run
    const legacy = await run([file, "--json", "--minutes", "1", "--no-report", "--from-record", rec, "--sim-model", "legacy", "--no-slowdown"])
    expect(legacy.code, legacy.stderr).toBe(0)
    const old = JSON.parse(legacy.stdout) as Result
    expect(old.calibration.loadLevel).toBe("fit")
    expect(old.calibration.unloadHoldMs).toBe(0)
    expect(old.calibration.slowdown).toBeUndefined()
    expect(old.real).toEqual(live.real)
  }, 240_000)

  it("says what is wrong with a bad record or a bad combination, without starting a server", async () => {
    const file = join(dir, "tiny.yaml")
    writeFileSync(file, scenario)
    const junk = join(dir, "junk.json")
    writeFileSync(junk, JSON.stringify({ hello: 1 }))
    const bad = await run([file, "--no-report", "--from-record", junk])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/not a recorded fidelity run/)
    const missing = await run([file, "--no-report", "--from-record", join(dir, "nope.json")])
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toMatch(/cannot read it as a recorded run/)
    const both = await run([file, "--no-report", "--from-record", junk, "--repeat", "2"])
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/--from-record replaces --repeat/)
    const model = await run([file, "--no-report", "--sim-model", "magic"])
    expect(model.code).toBe(2)
    expect(model.stderr).toMatch(/--sim-model must be holds or legacy/)
  }, 120_000)
})
