// A small model runtime for meshkit's tests: a real process serving ModelMesh's runtime SPI
// (mmesh.ModelRuntime) and KServe v2 ModelInfer / ModelMetadata on one gRPC port, with
// @grpc/grpc-js, as a ModelMesh sidecar runtime would. Model type "linear": a JSON file
// {"W": [[...], ...], "b": [...], "delayMs"?: D, "loadDelayMs"?: L} (out × in; each inference sleeps D ms, the load L ms); input "input" FP32 [-1, in] → output "output"
// FP32 [-1, out] = x·Wᵀ + b. The model for an inference is the one named by the mm-model-id
// header (what ModelMesh sends), never the request's model_name.
//
// Flags (all optional): --port P (0 = free), --capacity BYTES, --size-factor K (loaded size =
// file size × K), --predict-factor K (predictModelSize = file size × K), --max-concurrency N
// (loadModel's answer; limitModelConcurrency true when N > 0), --infer-delay-ms D,
// --load-delay-ms D, --starting-calls N (the first N runtimeStatus calls answer STARTING), --max-loading N,
// --loading-timeout-ms T, --no-size (loadModel answers size 0: modelSize must be asked).
// stdout: "test-runtime listening PORT", then one JSON line per SPI call and per inference
// ({"event":"loadModel",...}, {"event":"infer","model":...,"concurrent":N}).
import { readFileSync, statSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as grpc from "@grpc/grpc-js"
import * as protoLoader from "@grpc/proto-loader"

const args = new Map()
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]
  if (!a.startsWith("--")) continue
  const next = process.argv[i + 1]
  if (next === undefined || next.startsWith("--")) args.set(a.slice(2), "true")
  else args.set(a.slice(2), process.argv[++i])
}
const num = (k, d) => (args.has(k) ? Number(args.get(k)) : d)
const opts = {
  port: num("port", 0),
  capacity: num("capacity", 64 * 1024 * 1024),
  sizeFactor: num("size-factor", 10),
  predictFactor: num("predict-factor", 8),
  maxConcurrency: num("max-concurrency", 0),
  inferDelayMs: num("infer-delay-ms", 0),
  loadDelayMs: num("load-delay-ms", 0),
  startingCalls: num("starting-calls", 0),
  maxLoading: num("max-loading", 1),
  loadingTimeoutMs: num("loading-timeout-ms", 20_000),
  noSize: args.get("no-size") === "true"
}
let statusCalls = 0
const emit = (o) => process.stdout.write(`${JSON.stringify({ t: Date.now(), ...o })}\n`)

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const loader = { keepCase: true, longs: Number, enums: String, defaults: true, arrays: true }
const mmesh = grpc.loadPackageDefinition(protoLoader.loadSync(here("./model-runtime.proto"), loader)).mmesh
const v2 = grpc.loadPackageDefinition(protoLoader.loadSync(here("../../../proto/grpc_predict_v2.proto"), loader)).inference

/** id → { W, b, inDim, outDim, size, inFlight } */
const models = new Map()
let loadsInFlight = 0
let maxLoadsSeen = 0

const fail = (cb, code, details) => cb({ code, details })
const fileSize = (path) => statSync(path).size

const readLinear = (path) => {
  const m = JSON.parse(readFileSync(path, "utf8"))
  if (!Array.isArray(m.W) || !Array.isArray(m.b) || m.W.length !== m.b.length || m.W.length === 0) throw new Error("a linear model needs W (out × in) and b (out)")
  const inDim = m.W[0].length
  return { W: m.W.map((r) => Float64Array.from(r)), b: Float64Array.from(m.b), inDim, outDim: m.b.length, delayMs: Number(m.delayMs ?? 0), loadDelayMs: Number(m.loadDelayMs ?? 0) }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const runtimeImpl = {
  runtimeStatus(_call, cb) {
    const starting = ++statusCalls <= opts.startingCalls
    emit({ event: "runtimeStatus", status: starting ? "STARTING" : "READY" })
    cb(null, {
      status: starting ? "STARTING" : "READY",
      capacityInBytes: opts.capacity,
      maxLoadingConcurrency: opts.maxLoading,
      modelLoadingTimeoutMs: opts.loadingTimeoutMs,
      defaultModelSizeInBytes: 1024 * 1024,
      runtimeVersion: "test-runtime 1",
      limitModelConcurrency: opts.maxConcurrency > 0,
      methodInfos: { "inference.GRPCInferenceService/ModelInfer": { idInjectionPath: [1] } }
    })
  },
  predictModelSize(call, cb) {
    const r = call.request
    emit({ event: "predictModelSize", ...r })
    try {
      cb(null, { sizeInBytes: Math.round(fileSize(r.modelPath) * opts.predictFactor) })
    } catch (e) {
      fail(cb, grpc.status.INVALID_ARGUMENT, String(e.message))
    }
  },
  async loadModel(call, cb) {
    const r = call.request
    loadsInFlight++
    maxLoadsSeen = Math.max(maxLoadsSeen, loadsInFlight)
    emit({ event: "loadModel", ...r, loadsInFlight })
    try {
      if (r.modelType !== "linear") return fail(cb, grpc.status.INVALID_ARGUMENT, `model type ${r.modelType} is not served here (only linear)`)
      let m
      try {
        m = readLinear(r.modelPath)
      } catch (e) {
        return fail(cb, grpc.status.INVALID_ARGUMENT, `cannot load ${r.modelPath}: ${e.message}`)
      }
      const delay = m.loadDelayMs || opts.loadDelayMs
      if (delay) await sleep(delay)
      // A load meshkit gave up on (deadline) must not stay: the SPI says an unload follows.
      if (call.cancelled) {
        emit({ event: "loadCancelled", modelId: r.modelId })
        return
      }
      const size = Math.round(fileSize(r.modelPath) * opts.sizeFactor)
      models.set(r.modelId, { ...m, size, inFlight: 0, key: r.modelKey })
      const used = [...models.values()].reduce((s, x) => s + x.size, 0)
      emit({ event: "loaded", modelId: r.modelId, size, usedBytes: used, overCapacity: used > opts.capacity })
      cb(null, { sizeInBytes: opts.noSize ? 0 : size, maxConcurrency: opts.maxConcurrency })
    } finally {
      loadsInFlight--
    }
  },
  modelSize(call, cb) {
    const m = models.get(call.request.modelId)
    emit({ event: "modelSize", modelId: call.request.modelId })
    if (!m) return fail(cb, grpc.status.NOT_FOUND, `model ${call.request.modelId} is not loaded`)
    cb(null, { sizeInBytes: m.size })
  },
  unloadModel(call, cb) {
    const had = models.delete(call.request.modelId)
    emit({ event: "unloadModel", modelId: call.request.modelId, wasLoaded: had })
    cb(null, {})
  }
}

const modelOf = (call, cb) => {
  const id = call.metadata.get("mm-model-id")[0]
  if (id === undefined) {
    fail(cb, grpc.status.INVALID_ARGUMENT, "missing mm-model-id metadata")
    return undefined
  }
  const m = models.get(String(id))
  if (!m) fail(cb, grpc.status.NOT_FOUND, `model ${id} is not loaded here`)
  return m && { id: String(id), m }
}

const inferenceImpl = {
  ModelMetadata(call, cb) {
    const got = modelOf(call, cb)
    if (!got) return
    cb(null, {
      name: got.id,
      platform: "test-runtime-linear",
      inputs: [{ name: "input", datatype: "FP32", shape: [-1, got.m.inDim] }],
      outputs: [{ name: "output", datatype: "FP32", shape: [-1, got.m.outDim] }]
    })
  },
  async ModelInfer(call, cb) {
    const got = modelOf(call, cb)
    if (!got) return
    const { id, m } = got
    const req = call.request
    const input = (req.inputs ?? [])[0]
    if (!input || input.datatype !== "FP32") return fail(cb, grpc.status.INVALID_ARGUMENT, "expected one FP32 input")
    const shape = (input.shape ?? []).map(Number)
    if (shape.length !== 2 || shape[1] !== m.inDim) return fail(cb, grpc.status.INVALID_ARGUMENT, `input shape [${shape}] must be [-1, ${m.inDim}]`)
    let x
    if ((req.raw_input_contents ?? []).length > 0) {
      const raw = Buffer.from(req.raw_input_contents[0])
      x = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))
    } else x = Float32Array.from(input.contents?.fp32_contents ?? [])
    if (x.length !== shape[0] * shape[1]) return fail(cb, grpc.status.INVALID_ARGUMENT, `input has ${x.length} values, shape needs ${shape[0] * shape[1]}`)
    m.inFlight++
    emit({ event: "infer", model: id, modelName: req.model_name, concurrent: m.inFlight })
    try {
      const delay = m.delayMs || opts.inferDelayMs
      if (delay) await sleep(delay)
      const rows = shape[0]
      const y = new Float32Array(rows * m.outDim)
      for (let r = 0; r < rows; r++) {
        for (let o = 0; o < m.outDim; o++) {
          let s = m.b[o]
          const w = m.W[o]
          for (let i = 0; i < m.inDim; i++) s += w[i] * x[r * m.inDim + i]
          y[r * m.outDim + o] = s
        }
      }
      cb(null, {
        model_name: id,
        id: req.id ?? "",
        outputs: [{ name: "output", datatype: "FP32", shape: [rows, m.outDim] }],
        raw_output_contents: [Buffer.from(y.buffer)]
      })
    } finally {
      m.inFlight--
    }
  }
}

const server = new grpc.Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024 })
server.addService(mmesh.ModelRuntime.service, runtimeImpl)
server.addService(v2.GRPCInferenceService.service, inferenceImpl)
server.bindAsync(`127.0.0.1:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`test-runtime: cannot listen on ${opts.port}: ${err.message}\n`)
    process.exit(1)
  }
  process.stdout.write(`test-runtime listening ${port}\n`)
})
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)))
