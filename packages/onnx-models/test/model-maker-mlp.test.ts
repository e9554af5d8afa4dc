import { execFile } from "node:child_process"
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import * as ort from "onnxruntime-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeModel, makeModels, planMlp } from "../src/index.js"

const ROOT = fileURLToPath(new URL("../../../", import.meta.url))
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshkit-maker-"))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const KiB = 1024
const MiB = 1024 * KiB
const run = async (model: Uint8Array, x: Float32Array, rows: number) => {
  const s = await ort.InferenceSession.create(model)
  const out = (await s.run({ input: new ort.Tensor("float32", x, [rows, x.length / rows]) })).output!
  await s.release()
  return out
}

describe("model maker", () => {
  it.each([
    [16 * KiB, {}],
    [256 * KiB, {}],
    [1 * MiB, { inputDim: 784, classes: 10 }],
    [4 * MiB, {}],
    [4 * MiB, { layers: 1 }],
    [4 * MiB, { layers: 4, inputDim: 32, classes: 3 }],
    [24 * MiB, {}]
  ])("a %d-byte request gives a file within ±10 %% (%o)", (size, o) => {
    const bytes = makeModel({ sizeBytes: size, ...o }).byteLength
    expect(Math.abs(bytes - size) / size).toBeLessThanOrEqual(0.1)
  })

  it("refuses sizes it cannot meet within 10 %, saying why", () => {
    expect(() => planMlp(512)).toThrow(/too small for an MLP with input dim 64/)
    expect(() => planMlp(3 * 2 ** 30)).toThrow(/too large/)
    expect(() => planMlp(MiB, { inputDim: 0 })).toThrow(/inputDim must be a positive integer/)
  })

  it("writes models onnxruntime loads, with the documented input and output", async () => {
    const s = await ort.InferenceSession.create(makeModel({ sizeBytes: 512 * KiB, inputDim: 20, classes: 5 }))
    expect(s.inputMetadata).toEqual([{ name: "input", isTensor: true, type: "float32", shape: ["N", 20] }])
    expect(s.outputMetadata).toEqual([{ name: "output", isTensor: true, type: "float32", shape: ["N", 5] }])
    const out = (await s.run({ input: new ort.Tensor("float32", new Float32Array(3 * 20).fill(0.25), [3, 20]) })).output!
    expect(out.dims).toEqual([3, 5])
    expect((out.data as Float32Array).every(Number.isFinite)).toBe(true)
    await s.release()
  })

  it("is deterministic per (seed, index) and different across indices and seeds", async () => {
    const o = { sizeBytes: 128 * KiB, seed: 7 }
    const a = makeModel(o, 3)
    expect(Buffer.from(makeModel(o, 3)).equals(Buffer.from(a))).toBe(true)
    const x = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.cos(i))
    const ya = Array.from((await run(a, x, 2)).data as Float32Array)
    expect(Array.from((await run(makeModel(o, 3), x, 2)).data as Float32Array)).toEqual(ya)
    expect(Array.from((await run(makeModel(o, 4), x, 2)).data as Float32Array)).not.toEqual(ya)
    expect(Array.from((await run(makeModel({ ...o, seed: 8 }, 3), x, 2)).data as Float32Array)).not.toEqual(ya)
    // Outputs vary with the input (the weights are not degenerate).
    expect(new Set(ya.map((v) => v.toFixed(4))).size).toBeGreaterThan(10)
  })

  it("makeModels writes <prefix>-NNNN.onnx files, all different", async () => {
    const out = join(dir, "batch")
    const progress: number[] = []
    const made = await makeModels({ outDir: out, count: 12, sizeBytes: 64 * KiB, seed: 2, prefix: "m", onProgress: (d) => progress.push(d) })
    const names = (await readdir(out)).sort()
    expect(names).toEqual(Array.from({ length: 12 }, (_, i) => `m-${String(i).padStart(4, "0")}.onnx`))
    expect(made.files.map((f) => f.slice(out.length + 1))).toEqual(names)
    expect(progress).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
    const contents = await Promise.all(made.files.map((f) => readFile(f)))
    expect(new Set(contents.map((c) => c.toString("base64"))).size).toBe(12)
    expect(made.totalBytes).toBe(contents.reduce((n, c) => n + c.length, 0))
  })

  it("`meshkit models make` writes the files and rejects bad flags", async () => {
    const exec = promisify(execFile)
    const out = join(dir, "cli")
    const r = await exec("node", ["bin/meshkit.js", "models", "make", "--out", out, "--count", "3", "--size", "256KiB", "--seed", "5"], { cwd: ROOT })
    expect(r.stdout).toMatch(/wrote 3 models to .*cli/)
    const names = (await readdir(out)).sort()
    expect(names).toEqual(["model-0000.onnx", "model-0001.onnx", "model-0002.onnx"])
    for (const n of names) expect(Math.abs((await stat(join(out, n))).size - 256 * KiB)).toBeLessThanOrEqual(25.6 * KiB)
    // Same seed through the library gives the same bytes as the CLI wrote.
    expect((await readFile(join(out, "model-0001.onnx"))).equals(Buffer.from(makeModel({ sizeBytes: 256 * KiB, seed: 5 }, 1)))).toBe(true)
    const bad = await exec("node", ["bin/meshkit.js", "models", "make", "--out", out, "--size", "lots"], { cwd: ROOT }).catch((e: { code: number; stderr: string }) => e)
    expect((bad as { code: number }).code).not.toBe(0)
    expect((bad as { stderr: string }).stderr).toMatch(/--size: invalid byte size "lots"/)
  })
})
