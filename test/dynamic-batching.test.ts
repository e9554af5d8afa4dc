import { join } from "node:path"
import * as ort from "onnxruntime-node"
import { describe, expect, it } from "vitest"
import { infer, inferBody, json, postJson, serveFails, withServer } from "./server-harness.js"

// Dynamic batching end to end: a real server merging concurrent requests must answer each one
// exactly as onnxruntime answers it alone.

const MiB = 1024 * 1024
const f = withServer("batching", {
  models: { mlp: [1 * MiB, 3], other: [256 * 1024, 4] },
  args: (dir) => ["--models", dir, "--data-dir", join(dir, "data"), "--memory", "256MiB", "--max-batch-size", "16"]
})

const expected = async (file: string, body: string): Promise<number[]> => {
  const s = await ort.InferenceSession.create(file)
  try {
    const input = JSON.parse(body).inputs[0]
    const out = await s.run({ input: new ort.Tensor("float32", Float32Array.from(input.data), input.shape) })
    return Array.from(out.output!.data as Float32Array)
  } finally {
    await s.release()
  }
}

/** Equal within float32 rounding: a merged run may use another GEMM blocking than a single row. */
const expectClose = (got: number[], want: number[]) => {
  expect(got.length).toBe(want.length)
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want[i]!)))
}

describe("dynamic batching (--max-batch-size)", () => {
  it("answers 48 concurrent requests of 1-3 rows each exactly as onnxruntime answers them one by one (within float32 rounding)", async () => {
    const bodies = Array.from({ length: 48 }, (_, i) => inferBody(1 + (i % 3), i * 7))
    const answers = await Promise.all(bodies.map((b) => infer(f.server, "mlp", b).then(async (r) => ({ status: r.status, body: await json(r) }))))
    for (let i = 0; i < bodies.length; i++) {
      expect(answers[i]!.status).toBe(200)
      const out = answers[i]!.body.outputs[0]
      expect(out.shape).toEqual([1 + (i % 3), 10])
      expectClose(out.data, await expected(join(f.dir, "mlp.onnx"), bodies[i]!))
    }
  })

  it("takes a model's own batching settings at registration, and names a bad one", async () => {
    const bad = await postJson(f.server, "/v1/models", { id: "b1", uri: join(f.dir, "other.onnx"), maxBatchSize: 0 })
    expect(bad.status).toBe(400)
    expect((await json(bad)).error).toMatch(/maxBatchSize/)
    const badDelay = await postJson(f.server, "/v1/models", { id: "b2", uri: join(f.dir, "other.onnx"), maxBatchDelay: "soon" })
    expect(badDelay.status).toBe(400)
    expect((await json(badDelay)).error).toMatch(/maxBatchDelay/)
    const ok = await postJson(f.server, "/v1/models", { id: "b3", uri: join(f.dir, "other.onnx"), maxBatchSize: 4, maxBatchDelay: "2ms", preferredBatchSizes: [2, 4] })
    expect(ok.status).toBe(201)
    const bodies = Array.from({ length: 10 }, (_, i) => inferBody(1, i))
    const answers = await Promise.all(bodies.map((b) => infer(f.server, "b3", b).then(json)))
    for (let i = 0; i < bodies.length; i++) expectClose(answers[i].outputs[0].data, await expected(join(f.dir, "other.onnx"), bodies[i]!))
  })

  it("refuses a bad --max-batch-size at start with a message naming it", async () => {
    const r = await serveFails(["--max-batch-size", "0"])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/maxBatchSize|max-batch-size/)
  })
})
