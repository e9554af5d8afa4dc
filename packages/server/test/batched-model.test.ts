import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { dynamicBatching } from "@meshkit/core"
import { makeModel } from "@meshkit/onnx-models"
import { batchedModel, canBatch, type BatchStats } from "../src/runtimes/batched-model.js"
import { makeOnnxRuntime, type OnnxRuntime } from "../src/runtimes/onnx/runtime.js"
import type { LoadedModel, Tensor } from "../src/runtimes/runtime.js"

// A real onnxruntime session under the batcher: merged runs must answer exactly what separate
// runs answer, row for row.

let dir: string
let rt: OnnxRuntime
let plain: LoadedModel
const INPUT_DIM = 64

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshkit-batching-"))
  rt = await makeOnnxRuntime({}, () => {})
  const path = join(dir, "mlp.onnx")
  await writeFile(path, makeModel({ sizeBytes: 256 * 1024, inputDim: INPUT_DIM, classes: 5 }))
  plain = await rt.load(path, "mlp")
})
afterAll(async () => {
  await plain?.unload()
  await rt?.close()
  await rm(dir, { recursive: true, force: true })
})

const rowsInput = (rows: number, seed: number): Tensor => ({
  name: plain.inputs[0]!.name,
  datatype: "FP32",
  shape: [rows, INPUT_DIM],
  data: Float32Array.from({ length: rows * INPUT_DIM }, (_, i) => Math.sin(seed * 31 + i))
})

const policy = (maxBatchSize: number, maxBatchDelayMs = 0) =>
  dynamicBatching({ maxBatchSize, maxBatchDelayMs, preferredBatchSizes: [], maxConcurrentBatches: 1 })

describe("dynamic batching of a loaded model", () => {
  it("applies to models made by `meshkit models make` (variable first dimension)", () => {
    expect(canBatch(plain)).toBe(true)
    expect(canBatch({ inputs: [{ name: "x", datatype: "FP32", shape: [1, 4] }], outputs: plain.outputs })).toBe(false)
  })

  it("merges concurrent requests into fewer runs and answers each exactly as a run of its own", async () => {
    const stats: BatchStats = { runs: 0, requests: 0 }
    const m = batchedModel(plain, policy(16), stats)
    const inputs = Array.from({ length: 40 }, (_, i) => rowsInput(1 + (i % 3), i))
    const alone = await Promise.all(inputs.map((x) => plain.infer([x])))
    const merged = await Promise.all(inputs.map((x) => m.infer([x])))
    for (let i = 0; i < inputs.length; i++) {
      expect(merged[i]![0]!.shape).toEqual(alone[i]![0]!.shape)
      const got = merged[i]![0]!.data as Float32Array
      const want = alone[i]![0]!.data as Float32Array
      // within float32 rounding: a merged run may use another GEMM blocking than a single row
      for (let j = 0; j < want.length; j++) expect(Math.abs(got[j]! - want[j]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want[j]!)))
    }
    expect(stats.requests).toBe(40)
    expect(stats.runs).toBeLessThan(40)
  })

  it("never puts more than maxBatchSize rows in one run (a larger request runs alone)", async () => {
    const seen: number[] = []
    const counting: LoadedModel = { ...plain, infer: (x, o) => (seen.push(x[0]!.shape[0]!), plain.infer(x, o)) }
    const m = batchedModel(counting, policy(4))
    await Promise.all([...Array.from({ length: 10 }, (_, i) => m.infer([rowsInput(1, i)])), m.infer([rowsInput(6, 99)])])
    expect(seen.reduce((a, b) => a + b, 0)).toBe(16)
    for (const rows of seen) expect(rows === 6 || rows <= 4).toBe(true)
  })

  it("waits up to maxBatchDelay for company when nothing else is waiting", async () => {
    const stats: BatchStats = { runs: 0, requests: 0 }
    const m = batchedModel(plain, policy(8, 30), stats)
    const first = m.infer([rowsInput(1, 1)])
    await new Promise((r) => setTimeout(r, 5))
    const second = m.infer([rowsInput(1, 2)])
    await Promise.all([first, second])
    expect(stats).toEqual({ runs: 1, requests: 2 })
  })

  it("gives a bad request its own error without failing the requests batched with it", async () => {
    const m = batchedModel(plain, policy(16))
    const bad: Tensor = { name: plain.inputs[0]!.name, datatype: "FP32", shape: [1, INPUT_DIM], data: new Float32Array(3) }
    const results = await Promise.allSettled([m.infer([rowsInput(1, 1)]), m.infer([bad]), m.infer([rowsInput(2, 2)])])
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"])
  })

  it("keeps requests asking for different outputs or shapes out of one run", async () => {
    const seen: number[] = []
    const counting: LoadedModel = { ...plain, infer: (x, o) => (seen.push(x[0]!.shape[0]!), plain.infer(x, o)) }
    const m = batchedModel(counting, policy(16))
    const out = plain.outputs[0]!.name
    await Promise.all([m.infer([rowsInput(1, 1)]), m.infer([rowsInput(1, 2)], [out]), m.infer([rowsInput(1, 3)], [out])])
    // the first runs at once (nothing waits); the two asking for [out] explicitly share a run
    expect(seen).toEqual([1, 2])
  })
})
