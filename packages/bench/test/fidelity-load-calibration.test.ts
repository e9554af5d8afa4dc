import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { calibrate } from "../src/fidelity/calibrate.js"
import type { ModelFiles } from "../src/fidelity/model-files.js"
import type { RealRun } from "../src/fidelity/real-run.js"

// The fidelity check's load model: the shape (fixed + size ÷ bandwidth) of the replay's own loads,
// its level from the JS thread's measured hold per load. A replayed load's wall time is its wait
// for the event loop (which does not grow with the model) plus its hold, so the fixed part is
// lowered, not the bandwidth; the loads timed alone after the replay, with a flatter shape, are
// kept for comparison only. Synthetic run: model files on disk (their sizes are read), statuses
// and counters as the server would give them.

const MIB = 1024 ** 2
const dir = mkdtempSync(join(tmpdir(), "fidelity-load-calibration-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** 30 models of 1..30 MiB files, 2 bytes in memory per file byte; each loaded `loads` times */
const runWith = (o: { waitMs: number; fixedMs: number; bytesPerSecond: number; loads?: number; simModel?: "holds" | "legacy"; holdScale?: number }) => {
  const n = 30
  const fileBytes = new Float64Array(n)
  const nameOf = new Map<number, string>()
  const indexOf = new Map<string, number>()
  for (let m = 0; m < n; m++) {
    fileBytes[m] = (m + 1) * MIB
    nameOf.set(m, `m${m}`)
    indexOf.set(`m${m}`, m)
    writeFileSync(join(dir, `m${m}.onnx`), Buffer.alloc(fileBytes[m]!))
  }
  const files: ModelFiles = { dir, nameOf, indexOf, fileBytes, calibration: [], generated: n }
  const holdOf = (memBytes: number) => o.fixedMs + (memBytes * 1000) / o.bytesPerSecond
  const loads = o.loads ?? 1
  let holdSum = 0
  const statuses = [...nameOf.entries()].map(([m, id]) => {
    const mem = 2 * fileBytes[m]!
    holdSum += loads * holdOf(mem)
    return { id, status: "LOADED", sizeBytes: mem, loads, lastLoadMs: o.waitMs + holdOf(mem) }
  })
  // alone after the replay, a load costs a flat 4 ms + size ÷ 4 GiB/s
  const isolatedLoads = [1, 4, 8, 16, 30].flatMap((mib) => [0, 1, 2].map(() => ({ bytes: mib * MIB, wallMs: 4 + (2 * mib * MIB * 1000) / (4096 * MIB), threadCpuMs: 4 + (2 * mib * MIB * 1000) / (4096 * MIB) })))
  const counters: Record<string, number> = {
    meshkit_js_thread_load_holds_total: n * loads,
    meshkit_js_thread_load_hold_seconds_total: ((o.holdScale ?? 1) * holdSum) / 1000
  }
  const run = {
    memoryBytes: 1024 * MIB,
    statuses,
    isolatedLoads,
    exec: [{ bytes: MIB, idleMs: [1, 1.1, 0.9], holdMs: 0.5 }, { bytes: 8 * MIB, idleMs: [2, 2.2, 1.8], holdMs: 1.2 }],
    metricsDelta: (name: string) => counters[name] ?? 0
  } as unknown as RealRun
  return calibrate([...fileBytes].map((b) => 2 * b), files, run, o.simModel ?? "holds")
}

describe("fidelity: the load model from the replay's own loads", () => {
  it("keeps the replay's size dependence and lowers the fixed part by the loads' wait for the event loop", () => {
    const fit = runWith({ waitMs: 6, fixedMs: 2, bytesPerSecond: 500 * MIB })
    const c = fit.calibration
    expect(c.loadSource).toBe("in-run")
    expect(c.loadLevel).toBe("in-run-hold")
    expect(c.loadBytesPerSecond / MIB).toBeCloseTo(500, 3)
    expect(c.loadFixedMs).toBeCloseTo(2, 3)
    // the loads timed alone are reported beside it, not used
    expect(c.isolatedSamples).toBe(15)
    expect(c.isolatedLoad!.loadBytesPerSecond / MIB).toBeCloseTo(4096, 0)
  })

  it("scales the in-run shape when lowering the fixed part would take it below zero", () => {
    // the measured hold is half of what the loads' size dependence alone explains: the shape is
    // scaled by the ratio of the means (0 wait, so the in-run fit is the hold's own shape)
    const fit = runWith({ waitMs: 0, fixedMs: 1, bytesPerSecond: 500 * MIB, holdScale: 0.5 })
    const c = fit.calibration
    expect(c.loadFixedMs).toBeCloseTo(0.5, 3)
    expect(c.loadBytesPerSecond / MIB).toBeCloseTo(1000, 3)
  })

  it("without a measured hold (the legacy model) uses the loads timed alone", () => {
    const fit = runWith({ waitMs: 6, fixedMs: 2, bytesPerSecond: 500 * MIB, simModel: "legacy" })
    expect(fit.calibration.loadSource).toBe("isolated")
    expect(fit.calibration.loadBytesPerSecond / MIB).toBeCloseTo(4096, 0)
  })
})
