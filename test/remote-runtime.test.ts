/**
 * External runtimes over ModelMesh's runtime SPI, end to end: a real runtime process (the test
 * runtime, @grpc/grpc-js serving mmesh.ModelRuntime and KServe v2 ModelInfer) and a real
 * `meshkit serve --remote-runtime` talking to it over real gRPC. The runtime logs every call it
 * gets, so the tests check what meshkit sent it (ids, types, paths, keys, mm-model-id, unloads,
 * concurrency) as well as what clients get back over REST and gRPC.
 */
import { stat, writeFile } from "node:fs/promises"
import { join } from "node:path"
import * as grpc from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { grpcChannelOptions, loadGrpcDefinition } from "@meshkit/server"
import { linearModel, startTestRuntime, type TestRuntime } from "../packages/server/test/support/test-runtime/process.js"
import { eventually, getJson, json, postJson, removeDir, serveFails, startServer, tempDir, type Served } from "./server-harness.js"

const SIZE_FACTOR = 10
const PREDICT_FACTOR = 8
const PADDED = 1000
/** the runtime holds two padded models (10,000 B each once loaded) and the small ones, not three */
const CAPACITY = Math.round(2.5 * PADDED * SIZE_FACTOR)
const MAX_CONCURRENCY = 2

let dir = ""
let runtime: TestRuntime
let server: Served
const files: Record<string, number> = {}

const W = [
  [1, 2],
  [3, 4],
  [0, 1]
]
const B = [0.5, -1, 2]
/** x·Wᵀ + b, in float32 as the runtime computes it */
const expected = (x: number[][]) => Float32Array.from(x.flatMap((row) => W.map((w, o) => w[0]! * row[0]! + w[1]! * row[1]! + B[o]!)))

const writeLinear = async (name: string, opts: { pad?: number; delayMs?: number; loadDelayMs?: number } = {}) => {
  let text = linearModel(W, B, opts)
  // Padded models get exactly PADDED bytes, so their sizes are known.
  if (opts.pad !== undefined) text = linearModel(W, B, { ...opts, pad: opts.pad + PADDED - text.length })
  const path = join(dir, `${name}.json`)
  await writeFile(path, text)
  files[name] = (await stat(path)).size
  return path
}

const register = async (id: string, path: string, labels?: Record<string, string>) => {
  const res = await postJson(server, "/v1/models", { id, uri: path, format: "linear", ...(labels ? { labels } : {}) })
  expect(res.status, await res.clone().text()).toBe(201)
  await res.arrayBuffer()
}

const inferJson = (model: string, x: number[][]) =>
  fetch(`${server.url}/v2/models/${model}/infer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ inputs: [{ name: "input", shape: [x.length, 2], datatype: "FP32", data: x.flat() }] })
  })

const serveOk = async (model: string, x: number[][] = [[1, 1]]) => {
  const res = await inferJson(model, x)
  const body = await json(res)
  expect(res.status, JSON.stringify(body)).toBe(200)
  expect(Float32Array.from(body.outputs[0].data)).toEqual(expected(x))
}

const status = async (model: string) => getJson(server, `/v1/models/${model}`)
/** the runtime's SPI calls for one model, in order */
const callsFor = (model: string) => runtime.events.filter((e) => e.modelId === model || e.model === model).map((e) => e.event)

const remoteFlag = (address: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ name: "tr", address, modelTypes: ["linear"], healthInterval: "250ms", ...extra })

beforeAll(async () => {
  dir = await tempDir("remote-runtime")
  runtime = await startTestRuntime([
    "--capacity", String(CAPACITY),
    "--size-factor", String(SIZE_FACTOR),
    "--predict-factor", String(PREDICT_FACTOR),
    "--max-concurrency", String(MAX_CONCURRENCY),
    "--max-loading", "1",
    "--loading-timeout-ms", "1500"
  ])
  // --memory far below one remote model: the runtime's capacity is its models' budget, not --memory.
  server = await startServer(["--remote-runtime", remoteFlag(runtime.address), "--memory", "4KiB", "--data-dir", join(dir, "data"), "--model-roots", dir, "--log-level", "info"])
}, 120_000)

afterAll(async () => {
  await server?.stop()
  await runtime?.stop()
  if (dir) await removeDir(dir)
})

describe("a model on a remote runtime", () => {
  it("loads through loadModel with the registered id, format, local path and key, and serves REST JSON", async () => {
    const path = await writeLinear("m1")
    await register("m1", path, { modelKey: '{"storage":"local"}' })
    await serveOk("m1", [
      [1, 1],
      [2, 0]
    ])
    const load = runtime.of("loadModel").find((e) => e.modelId === "m1")
    expect(load).toMatchObject({ modelId: "m1", modelType: "linear", modelPath: path, modelKey: '{"storage":"local"}' })
    expect(runtime.of("predictModelSize").find((e) => e.modelId === "m1")).toMatchObject({ modelType: "linear", modelPath: path })
    // The inference reached the runtime for the model named by mm-model-id.
    expect(runtime.of("infer").filter((e) => e.model === "m1").length).toBeGreaterThan(0)
    // The runtime's reported size replaced the prediction.
    const s = await status("m1")
    expect(s).toMatchObject({ status: "LOADED", sizeBytes: files.m1! * SIZE_FACTOR, predictedSizeBytes: files.m1! * PREDICT_FACTOR })
    // Metadata comes from the runtime's ModelMetadata.
    expect(await getJson(server, "/v2/models/m1")).toMatchObject({
      platform: "tr",
      inputs: [{ name: "input", datatype: "FP32", shape: [-1, 2] }],
      outputs: [{ name: "output", datatype: "FP32", shape: [-1, 3] }]
    })
  })

  it("serves the binary tensor extension and gRPC (typed and raw contents)", async () => {
    const x = Float32Array.from([1, 1, -2, 0.5])
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: "input", shape: [2, 2], datatype: "FP32", parameters: { binary_data_size: x.byteLength } }],
        outputs: [{ name: "output", parameters: { binary_data: true } }]
      })
    )
    const res = await fetch(`${server.url}/v2/models/m1/infer`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", "inference-header-content-length": String(header.length) },
      body: Buffer.concat([header, Buffer.from(x.buffer)])
    })
    expect(res.status).toBe(200)
    const hl = Number(res.headers.get("inference-header-content-length"))
    const bytes = Buffer.from(await res.arrayBuffer())
    expect(JSON.parse(bytes.subarray(0, hl).toString()).outputs[0]).toMatchObject({ name: "output", shape: [2, 3], parameters: { binary_data_size: 24 } })
    const want = expected([
      [1, 1],
      [-2, 0.5]
    ])
    expect(new Float32Array(Uint8Array.from(bytes.subarray(hl)).buffer)).toEqual(want)

    const { GRPCInferenceService } = loadGrpcDefinition()
    const client = new GRPCInferenceService(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure(), grpcChannelOptions) as unknown as Record<
      string,
      (req: unknown, cb: (err: grpc.ServiceError | null, res: any) => void) => void
    >
    const call = (req: unknown) => new Promise<any>((resolve, reject) => client.ModelInfer!(req, (err, r) => (err ? reject(err) : resolve(r))))
    const typed = await call({ model_name: "m1", inputs: [{ name: "input", datatype: "FP32", shape: [2, 2], contents: { fp32_contents: Array.from(x) } }] })
    expect(Float32Array.from(typed.outputs[0].contents.fp32_contents)).toEqual(want)
    const raw = await call({ model_name: "m1", inputs: [{ name: "input", datatype: "FP32", shape: [2, 2] }], raw_input_contents: [Buffer.from(x.buffer)] })
    expect(new Float32Array(Uint8Array.from(raw.raw_output_contents[0]).buffer)).toEqual(want)
    ;(client as unknown as grpc.Client).close()
  })

  it("keeps at most the runtime's maxConcurrency requests in flight per model, queueing the rest", async () => {
    await register("slow", await writeLinear("slow", { delayMs: 300 }))
    await serveOk("slow")
    const responses = await Promise.all(Array.from({ length: 8 }, () => inferJson("slow", [[1, 1]])))
    for (const r of responses) expect(r.status).toBe(200)
    await Promise.all(responses.map((r) => r.arrayBuffer()))
    const seen = runtime.of("infer").filter((e) => e.model === "slow").map((e) => Number(e.concurrent))
    expect(seen.length).toBe(9)
    expect(Math.max(...seen)).toBe(MAX_CONCURRENCY)
  })

  it("evicts under the runtime's reported capacity: unloadModel before the next load, never over capacity", async () => {
    for (const m of ["a", "b", "c"]) await register(m, await writeLinear(m, { pad: 0 }))
    expect(files.a).toBe(PADDED)
    await serveOk("a")
    await serveOk("b")
    expect((await status("a")).status).toBe("LOADED")
    await serveOk("c")
    // LRU: a (least recently used of the big ones) went; b and c stay.
    expect((await status("a")).status).toBe("NOT_LOADED")
    expect((await status("b")).status).toBe("LOADED")
    expect((await status("c")).status).toBe("LOADED")
    const unloadA = runtime.events.findIndex((e) => e.event === "unloadModel" && e.modelId === "a")
    const loadC = runtime.events.findIndex((e) => e.event === "loadModel" && e.modelId === "c")
    expect(unloadA).toBeGreaterThanOrEqual(0)
    expect(unloadA).toBeLessThan(loadC)
    for (const e of runtime.of("loaded")) expect(e.usedBytes as number).toBeLessThanOrEqual(CAPACITY)
    // A evicted model loads again on its next request.
    await serveOk("a")
    expect(callsFor("a").filter((c) => c === "loadModel").length).toBe(2)
  })

  it("unloads through unloadModel on a repository unload", async () => {
    await serveOk("m1")
    const res = await fetch(`${server.url}/v2/repository/models/m1/unload`, { method: "POST" })
    expect(res.status).toBe(200)
    await eventually(async () => (await status("m1")).status === "NOT_LOADED")
    expect(callsFor("m1").at(-1)).toBe("unloadModel")
  })
})

describe("loading as the runtime's status says", () => {
  it("keeps to maxLoadingConcurrency (1 here, below the server's 2 load slots)", async () => {
    for (const m of ["l1", "l2", "l3"]) await register(m, await writeLinear(m, { loadDelayMs: 300 }))
    await Promise.all(["l1", "l2", "l3"].map((m) => serveOk(m)))
    const loads = runtime.of("loadModel").filter((e) => ["l1", "l2", "l3"].includes(e.modelId as string))
    expect(loads).toHaveLength(3)
    for (const e of loads) expect(e.loadsInFlight).toBe(1)
  })

  it("gives up a load after modelLoadingTimeoutMs and sends unloadModel for it", async () => {
    await register("stuck", await writeLinear("stuck", { loadDelayMs: 4000 }))
    const res = await inferJson("stuck", [[1, 1]])
    expect(res.status).toBe(503)
    expect((await json(res)).error).toMatch(/loadModel did not finish within the runtime's modelLoadingTimeoutMs \(1500 ms\)/)
    expect((await status("stuck")).status).toBe("LOADING_FAILED")
    await eventually(async () => callsFor("stuck").includes("unloadModel"), 10_000)
  })
})

describe("a runtime that dies and comes back", () => {
  it("marks its models LOADING_FAILED with the reason, makes the server not ready, and serves again once it is back", async () => {
    await serveOk("b")
    await runtime.kill()
    await eventually(async () => (await status("b")).status === "LOADING_FAILED", 10_000)
    const s = await status("b")
    expect(s.errors[0]).toMatch(new RegExp(`remote runtime tr at ${runtime.address.replace(/\./g, "\\.")} is unavailable: `))
    const ready = await fetch(`${server.url}/v2/health/ready`)
    expect(ready.status).toBe(503)
    await ready.arrayBuffer()
    const res = await inferJson("b", [[1, 1]])
    expect(res.status).toBe(503)
    expect((await json(res)).error).toMatch(/remote runtime tr at .* is unavailable/)

    const loadsBefore = runtime.of("loadModel").length
    await runtime.restart()
    await eventually(async () => (await fetch(`${server.url}/v2/health/ready`)).status === 200, 15_000)
    // Before using it again, meshkit unloaded what it had there (a no-op on a restarted runtime).
    expect(runtime.events.some((e) => e.event === "unloadModel" && e.modelId === "b" && e.wasLoaded === false)).toBe(true)
    await serveOk("b")
    expect(runtime.of("loadModel").length).toBe(loadsBefore + 1)
    expect((await status("b")).status).toBe("LOADED")
  })
})

describe("start-up", () => {
  it("waits for a STARTING runtime to be READY", async () => {
    // Also: a runtime whose loadModel reports no size is asked modelSize.
    const slow = await startTestRuntime(["--starting-calls", "3", "--no-size", "--size-factor", "3"])
    let s: Served | undefined
    try {
      s = await startServer(["--remote-runtime", remoteFlag(slow.address), "--data-dir", join(dir, "data-starting"), "--model-roots", dir])
      // Three STARTING answers, then READY: the server listened only after the fourth.
      expect(slow.of("runtimeStatus").slice(0, 4).map((e) => e.status)).toEqual(["STARTING", "STARTING", "STARTING", "READY"])
      expect(s.stderr()).toMatch(/not ready yet \(status STARTING\)/)
      const path = await writeLinear("sized")
      const reg = await postJson(s, "/v1/models", { id: "sized", uri: path, format: "linear" })
      expect(reg.status).toBe(201)
      await reg.arrayBuffer()
      const res = await fetch(`${s.url}/v2/models/sized/infer`, {
        method: "POST",
        body: JSON.stringify({ inputs: [{ name: "input", shape: [1, 2], datatype: "FP32", data: [1, 1] }] })
      })
      expect(res.status).toBe(200)
      await res.arrayBuffer()
      expect(slow.of("modelSize").map((e) => e.modelId)).toEqual(["sized"])
      expect((await getJson(s, "/v1/models/sized")).sizeBytes).toBe(files.sized! * 3)
    } finally {
      await s?.stop()
      await slow.stop()
    }
  })

  it("gives up after startupTimeout on a runtime that never answers, naming it", async () => {
    const r = await serveFails(["--remote-runtime", remoteFlag("127.0.0.1:1", { startupTimeout: "1s" }), "--data-dir", join(dir, "data-dead")])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/remote runtime tr at 127\.0\.0\.1:1 did not become READY within 1 s \(last: unreachable: UNAVAILABLE/)
  })

  it("refuses bad --remote-runtime values with errors that name the flag and field", async () => {
    const badJson = await serveFails(["--remote-runtime", "{name:"])
    expect(badJson.code).toBe(2)
    expect(badJson.stderr).toMatch(/--remote-runtime: not valid JSON/)
    const noAddress = await serveFails(["--remote-runtime", JSON.stringify({ name: "x", modelTypes: ["linear"] })])
    expect(noAddress.code).toBe(2)
    expect(noAddress.stderr).toMatch(/remoteRuntimes\.0\.address \(from --remote-runtime\)/)
    const clash = await serveFails(["--remote-runtime", JSON.stringify({ name: "x", address: "127.0.0.1:1", modelTypes: ["onnx"] }), "--data-dir", join(dir, "data-clash")])
    expect(clash.code).not.toBe(0)
    expect(clash.stderr).toMatch(/remote runtime "x": model type "onnx" is already loaded by the built-in onnx runtime/)
  })
})
