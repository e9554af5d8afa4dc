import * as grpc from "@grpc/grpc-js"
import { afterAll, describe, expect, it } from "vitest"
import { GRPC_PROTO_PATH } from "@meshkit/server"
import { clientFrom, type AnyClient } from "./support/grpc-client.js"
import { withServer } from "./server-harness.js"

/**
 * Triton's ModelStreamInfer as tritonclient.grpc's start_stream / async_stream_infer use it:
 * one bidirectional stream, ModelInferRequests in, ModelStreamInferResponses
 * {error_message, infer_response} out, a failing request answered inside the stream while the
 * stream stays open.
 */
let client: AnyClient

const fixture = withServer("grpc-stream", {
  models: { alpha: [128 * 1024, 1], beta: [128 * 1024, 2] },
  args: (dir) => ["--models", dir, "--memory", "64MiB", "--data-dir", `${dir}/data`, "--grpc-port", "0", "--log-level", "warn"],
  ready: async ({ server }) => {
    client = clientFrom(GRPC_PROTO_PATH, "inference.GRPCInferenceService", server.grpcPort!)
  }
})
afterAll(() => client?.close())

const request = (model: string, id: string, rows = 1, seed = 0) => ({
  model_name: model,
  id,
  inputs: [{ name: "input", datatype: "FP32", shape: [rows, 64] }],
  raw_input_contents: [Buffer.from(Float32Array.from({ length: rows * 64 }, (_, i) => Math.sin(i + seed)).buffer)]
})

/** The first output of a ModelInferResponse. */
const outputOf = (r: any): Float32Array => {
  const raw = r.raw_output_contents[0] as Buffer
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))
}

/** A unary ModelInfer for the same request: the stream must answer exactly this. */
const unaryInfer = (r: unknown): Promise<any> => new Promise((resolve, reject) => client.ModelInfer(r, (e: grpc.ServiceError | null, m: any) => (e ? reject(e) : resolve(m))))

describe("ModelStreamInfer", () => {
  it("answers every request in order with its id, errors inside the stream, and ends after the client does", async () => {
    const call = client.ModelStreamInfer() as grpc.ClientDuplexStream<unknown, any>
    const got: any[] = []
    const ended = new Promise<void>((resolve, reject) => {
      call.on("data", (m: any) => got.push(m))
      call.on("end", () => resolve())
      call.on("error", reject)
    })
    call.write(request("alpha", "r1", 1, 1))
    call.write(request("nope", "r2"))
    call.write(request("beta", "r3", 3, 3))
    call.write({ ...request("alpha", "r4"), inputs: [{ name: "input", datatype: "FP32", shape: [1, 3] }] })
    call.write(request("alpha", "r5", 2, 5))
    call.end()
    await ended

    expect(got).toHaveLength(5)
    expect(got.map((m) => m.infer_response?.id ?? null)).toEqual(["r1", null, "r3", null, "r5"])
    expect(got[0].error_message).toBe("")
    expect(got[1].error_message).toContain('model "nope" is not registered')
    expect(got[3].error_message).not.toBe("")
    expect(got[2].infer_response).toMatchObject({ model_name: "beta", outputs: [{ name: "output", datatype: "FP32", shape: [3, 10] }] })

    // the same answers a unary ModelInfer gives
    for (const [i, r] of [[0, request("alpha", "r1", 1, 1)], [2, request("beta", "r3", 3, 3)], [4, request("alpha", "r5", 2, 5)]] as const) {
      const u = await unaryInfer(r)
      expect(Array.from(outputOf(got[i].infer_response))).toEqual(Array.from(outputOf(u)))
    }
  })

  it("keeps one stream open across many requests sent before any answer", async () => {
    const call = client.ModelStreamInfer() as grpc.ClientDuplexStream<unknown, any>
    const ids: string[] = []
    const done = new Promise<void>((resolve, reject) => {
      call.on("data", (m: any) => {
        expect(m.error_message).toBe("")
        ids.push(m.infer_response.id)
      })
      call.on("end", () => resolve())
      call.on("error", reject)
    })
    const n = 50
    for (let i = 0; i < n; i++) call.write(request(i % 2 ? "alpha" : "beta", `q${i}`, 1, i))
    call.end()
    await done
    expect(ids).toEqual(Array.from({ length: n }, (_, i) => `q${i}`))
  })

  it("honours ModelMesh's mm-model-id metadata on the stream", async () => {
    const md = new grpc.Metadata()
    md.set("mm-model-id", "beta")
    const call = client.ModelStreamInfer(md) as grpc.ClientDuplexStream<unknown, any>
    const got: any[] = []
    const ended = new Promise<void>((resolve, reject) => {
      call.on("data", (m: any) => got.push(m))
      call.on("end", () => resolve())
      call.on("error", reject)
    })
    call.write(request("", "m1"))
    call.end()
    await ended
    expect(got[0]).toMatchObject({ error_message: "", infer_response: { model_name: "beta", id: "m1" } })
  })
})
