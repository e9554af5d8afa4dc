import * as grpc from "@grpc/grpc-js"
import { dirname, join } from "node:path"
import * as ort from "onnxruntime-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { grpcChannelOptions, loadGrpcDefinition } from "@meshkit/server"
import {
  json,
  getJson,
  infer,
  inferBody,
  metric,
  metrics,
  MNIST,
  postJson,
  repositoryIndex,
  withServer
} from "./server-harness.js"

/**
 * The KServe v2 data plane of `meshkit serve` over real sockets: REST (JSON and binary tensors),
 * gRPC, the model repository extension, lazy loading, and every error status it promises.
 */
let client: grpc.Client & Record<string, Function>

const grpcCall = <T = any>(method: string, request: unknown, metadata = new grpc.Metadata()): Promise<T> =>
  new Promise((resolve, reject) => client[method]!(request, metadata, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res))))

const mnistInput = () => Float32Array.from({ length: 784 }, (_, i) => ((i * 37) % 255) / 255)

// Sessions in a worker thread: a load does not block the event loop, so concurrent first
// requests really arrive while their model loads (the other servers in these tests use the
// default, sessions on the main thread).
const fixture = withServer("dataplane", {
  models: { alpha: [256 * 1024, 1], beta: [256 * 1024, 2], flight: [32 * 1024 * 1024, 3] },
  args: (dir) => ["--models", dir, "--model-roots", dirname(MNIST), "--memory", "512MiB", "--data-dir", join(dir, "data"), "--max-body-size", "1MiB", "--runtime-workers", "1", "--log-level", "warn"],
  ready: async ({ server }) => {
    const res = await postJson(server, "/v1/models", { id: "mnist", uri: MNIST })
    expect(res.status).toBe(201)
    const { GRPCInferenceService } = loadGrpcDefinition()
    client = new GRPCInferenceService(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure(), grpcChannelOptions) as any
  }
})
afterAll(() => client?.close())

describe("health and metadata", () => {
  it("answers live, ready and server metadata", async () => {
    expect((await fetch(`${fixture.server.url}/v2/health/live`)).status).toBe(200)
    expect((await fetch(`${fixture.server.url}/v2/health/ready`)).status).toBe(200)
    const meta = await getJson(fixture.server, "/v2")
    expect(meta).toMatchObject({ name: "meshkit", extensions: expect.arrayContaining(["binary_tensor_data", "model_repository"]) })
  })

  it("describes a model's inputs and outputs", async () => {
    const res = await fetch(`${fixture.server.url}/v2/models/beta`)
    expect(res.status).toBe(200)
    expect(await json(res)).toEqual({
      name: "beta",
      versions: ["1"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "input", datatype: "FP32", shape: [-1, 64] }],
      outputs: [{ name: "output", datatype: "FP32", shape: [-1, 10] }]
    })
    expect((await fetch(`${fixture.server.url}/v2/models/beta/versions/1`)).status).toBe(200)
  })
})

describe("lazy loading", () => {
  it("registers directory models as not loaded and loads one on its first request", async () => {
    expect((await repositoryIndex(fixture.server)).alpha).toBe("UNAVAILABLE")
    expect((await fetch(`${fixture.server.url}/v2/models/alpha/ready`)).status).toBe(503)
    const before = await metrics(fixture.server)
    const res = await infer(fixture.server, "alpha")
    expect(res.status).toBe(200)
    const body = await json(res)
    expect(body).toMatchObject({ model_name: "alpha", outputs: [{ name: "output", datatype: "FP32", shape: [1, 10] }] })
    expect(body.outputs[0].data).toHaveLength(10)
    expect((await repositoryIndex(fixture.server)).alpha).toBe("READY")
    expect((await fetch(`${fixture.server.url}/v2/models/alpha/ready`)).status).toBe(200)
    const status = await getJson(fixture.server, "/v1/models/alpha")
    expect(status).toMatchObject({ id: "alpha", status: "LOADED", loads: 1 })
    expect(status.sizeBytes).toBeGreaterThan(0)

    // The second request is a hit: no new load.
    expect((await infer(fixture.server, "alpha")).status).toBe(200)
    const after = await metrics(fixture.server)
    const delta = (name: string) => (metric(after, name) ?? 0) - (metric(before, name) ?? 0)
    expect(delta("meshkit_cache_misses_total")).toBe(1)
    expect(delta("meshkit_cache_hits_total")).toBe(1)
    expect(delta('meshkit_load_duration_seconds_count{outcome="success"}')).toBe(1)
  })

  it("shares one load between concurrent first requests (single-flight)", async () => {
    // Open the 12 connections first so that the 12 requests arrive together.
    await Promise.all(Array.from({ length: 12 }, () => fetch(`${fixture.server.url}/v2/health/live`).then((r) => r.text())))
    const before = await metrics(fixture.server)
    const answers = await Promise.all(Array.from({ length: 12 }, () => infer(fixture.server, "flight")))
    expect(answers.map((r) => r.status)).toEqual(Array(12).fill(200))
    const bodies = await Promise.all(answers.map((r) => json(r)))
    for (const b of bodies) expect(b.outputs[0].data).toEqual(bodies[0].outputs[0].data)
    const after = await metrics(fixture.server)
    const delta = (name: string) => (metric(after, name) ?? 0) - (metric(before, name) ?? 0)
    expect(delta('meshkit_load_duration_seconds_count{outcome="success"}')).toBe(1)
    expect(delta("meshkit_cache_misses_total")).toBe(12)
    expect(delta("meshkit_model_loading_wait_seconds_count")).toBe(12)
    expect((await getJson(fixture.server, "/v1/models/flight")).loads).toBe(1)
  })
})

describe("inference results", () => {
  it("gives mnist the same answer as onnxruntime-node's own session, bit for bit", async () => {
    const input = mnistInput()
    const session = await ort.InferenceSession.create(MNIST)
    const expected = (await session.run({ Input3: new ort.Tensor("float32", input, [1, 1, 28, 28]) })).Plus214_Output_0!.data as Float32Array
    await session.release()

    const res = await infer(fixture.server, "mnist", JSON.stringify({ inputs: [{ name: "Input3", shape: [1, 1, 28, 28], datatype: "FP32", data: Array.from(input) }] }))
    expect(res.status).toBe(200)
    const body = await json(res)
    expect(body.outputs[0]).toMatchObject({ name: "Plus214_Output_0", datatype: "FP32", shape: [1, 10] })
    expect(Float32Array.from(body.outputs[0].data)).toEqual(expected)

    // gRPC, typed contents and raw contents, give the same numbers.
    const typed = await grpcCall("ModelInfer", {
      model_name: "mnist",
      inputs: [{ name: "Input3", datatype: "FP32", shape: [1, 1, 28, 28], contents: { fp32_contents: Array.from(input) } }]
    })
    expect(Float32Array.from(typed.outputs[0].contents.fp32_contents)).toEqual(expected)
    const raw = await grpcCall("ModelInfer", {
      model_name: "mnist",
      inputs: [{ name: "Input3", datatype: "FP32", shape: [1, 1, 28, 28] }],
      raw_input_contents: [Buffer.from(input.buffer)]
    })
    const rawOut: Buffer = raw.raw_output_contents[0]
    expect(new Float32Array(Uint8Array.from(rawOut).buffer)).toEqual(expected)
  })

  it("accepts nested JSON data and the binary tensor extension in both directions", async () => {
    const rows = [Array.from({ length: 64 }, (_, i) => i / 64), Array.from({ length: 64 }, (_, i) => -i / 64)]
    const flat = Float32Array.from(rows.flat())
    const nested = await infer(fixture.server, "beta", JSON.stringify({ inputs: [{ name: "input", shape: [2, 64], datatype: "FP32", data: rows }] }))
    expect(nested.status).toBe(200)
    const want = Float32Array.from((await json(nested)).outputs[0].data)
    expect(want).toHaveLength(20)

    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: "input", shape: [2, 64], datatype: "FP32", parameters: { binary_data_size: flat.byteLength } }],
        outputs: [{ name: "output", parameters: { binary_data: true } }]
      })
    )
    const res = await fetch(`${fixture.server.url}/v2/models/beta/infer`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", "inference-header-content-length": String(header.length) },
      body: Buffer.concat([header, Buffer.from(flat.buffer)])
    })
    expect(res.status).toBe(200)
    const hl = Number(res.headers.get("inference-header-content-length"))
    const bytes = Buffer.from(await res.arrayBuffer())
    const responseHeader = JSON.parse(bytes.subarray(0, hl).toString())
    expect(responseHeader.outputs[0]).toMatchObject({ name: "output", shape: [2, 10], parameters: { binary_data_size: 80 } })
    expect(new Float32Array(Uint8Array.from(bytes.subarray(hl)).buffer)).toEqual(want)
  })
})

describe("errors", () => {
  const expectError = async (res: Response, status: number, pattern: RegExp) => {
    expect(res.status).toBe(status)
    const body = await json(res)
    expect(body.error).toMatch(pattern)
  }

  it("404 for an unknown model or version", async () => {
    await expectError(await infer(fixture.server, "nope"), 404, /model "nope" is not registered/)
    await expectError(await fetch(`${fixture.server.url}/v2/models/nope`), 404, /not registered/)
    await expectError(await fetch(`${fixture.server.url}/v2/models/nope/ready`), 404, /not registered/)
    await expectError(await fetch(`${fixture.server.url}/v2/models/beta/versions/7/infer`, { method: "POST", body: inferBody() }), 404, /no version "7"/)
    await expectError(await fetch(`${fixture.server.url}/v2/repository/models/nope/load`, { method: "POST" }), 404, /not registered/)
  })

  it("400 for malformed or mismatched input, naming the problem", async () => {
    const cases: Array<[string, RegExp]> = [
      ["{not json", /malformed JSON/],
      ["[]", /JSON object/],
      [JSON.stringify({ inputs: [{ name: "wrong", shape: [1, 64], datatype: "FP32", data: Array(64).fill(0) }] }), /unknown input "wrong"/],
      [JSON.stringify({ inputs: [{ name: "input", shape: [1, 64], datatype: "INT32", data: Array(64).fill(0) }] }), /datatype INT32 does not match/],
      [JSON.stringify({ inputs: [{ name: "input", shape: [1, 64], datatype: "FP32", data: Array(63).fill(0) }] }), /63|64/],
      [JSON.stringify({ inputs: [{ name: "input", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }] }), /shape/],
      [JSON.stringify({ inputs: [{ name: "input", shape: [1, 64], datatype: "FP32", data: Array(64).fill(0) }], outputs: [{ name: "nope" }] }), /output "nope"/],
      [JSON.stringify({ inputs: [] }), /input/]
    ]
    for (const [body, pattern] of cases) await expectError(await infer(fixture.server, "beta", body), 400, pattern)
    await expectError(
      await fetch(`${fixture.server.url}/v2/models/beta/infer`, { method: "POST", headers: { "inference-header-content-length": "abc" }, body: inferBody() }),
      400,
      /Inference-Header-Content-Length/
    )
  })

  it("413 for a body over --max-body-size, 405 for a wrong method", async () => {
    await expectError(await infer(fixture.server, "beta", "x".repeat(2 * 1024 * 1024)), 413, /exceeds the limit/)
    await expectError(await fetch(`${fixture.server.url}/v2/models/beta/infer`), 405, /not allowed/)
    // The server is still fine afterwards.
    expect((await infer(fixture.server, "beta")).status).toBe(200)
  })

  it("gRPC maps errors to NOT_FOUND and INVALID_ARGUMENT", async () => {
    await expect(grpcCall("ModelInfer", { model_name: "nope", inputs: [] })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND })
    await expect(
      grpcCall("ModelInfer", { model_name: "beta", inputs: [{ name: "input", datatype: "FP32", shape: [1, 2], contents: { fp32_contents: [1, 2] } }] })
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT })
  })
})

describe("gRPC service", () => {
  it("answers health, metadata and the repository RPCs", async () => {
    expect(await grpcCall("ServerLive", {})).toEqual({ live: true })
    expect(await grpcCall("ServerReady", {})).toEqual({ ready: true })
    expect(await grpcCall("ServerMetadata", {})).toMatchObject({ name: "meshkit" })
    const meta = await grpcCall("ModelMetadata", { name: "beta" })
    expect(meta).toMatchObject({ name: "beta", inputs: [{ name: "input", datatype: "FP32" }] })
    expect(meta.inputs[0].shape.map(Number)).toEqual([-1, 64])
    await grpcCall("RepositoryModelUnload", { model_name: "beta" })
    expect(await grpcCall("ModelReady", { name: "beta" })).toEqual({ ready: false })
    await grpcCall("RepositoryModelLoad", { model_name: "beta" })
    expect(await grpcCall("ModelReady", { name: "beta" })).toEqual({ ready: true })
    // ModelMesh's routing header names the model when present.
    const md = new grpc.Metadata()
    md.set("mm-model-id", "beta")
    const routed = await grpcCall(
      "ModelInfer",
      { model_name: "ignored", inputs: [{ name: "input", datatype: "FP32", shape: [1, 64], contents: { fp32_contents: Array(64).fill(0.5) } }] },
      md
    )
    expect(routed.outputs[0]).toMatchObject({ name: "output", datatype: "FP32" })
    const index = await grpcCall("RepositoryIndex", { ready: true })
    expect(index.models.map((m: { name: string }) => m.name)).toContain("beta")
  })
})

describe("model repository extension (REST)", () => {
  it("loads and unloads on request", async () => {
    expect((await fetch(`${fixture.server.url}/v2/repository/models/alpha/unload`, { method: "POST" })).status).toBe(200)
    expect((await repositoryIndex(fixture.server)).alpha).toBe("UNAVAILABLE")
    expect((await fetch(`${fixture.server.url}/v2/repository/models/alpha/load`, { method: "POST" })).status).toBe(200)
    expect((await repositoryIndex(fixture.server)).alpha).toBe("READY")
    const ready = (await json(await fetch(`${fixture.server.url}/v2/repository/index`, { method: "POST", body: JSON.stringify({ ready: true }) }))) as Array<{
      name: string
      state: string
    }>
    expect(ready.every((r) => r.state === "READY")).toBe(true)
  })
})
