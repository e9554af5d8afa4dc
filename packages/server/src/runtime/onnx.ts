import { Effect, Layer, Schema } from "effect"
import { stat } from "node:fs/promises"
import * as ort from "onnxruntime-node"
import { tinyModel } from "../models/make.js"
import { type Datatype, type LoadedModel, type ModelRuntime, RuntimeError, type Tensor, type TensorMeta } from "./runtime.js"
import { ModelRuntimeService } from "./service.js"
import { inputProblem } from "./validate.js"

/**
 * ModelRuntime on onnxruntime-node (in process).
 *
 * Size. Predicted = file size × sizeFactor + SESSION_OVERHEAD_BYTES. After load: the RSS growth
 * while the session was created, bounded to [file size + overhead, 4 × predicted], when no other
 * load of this runtime overlapped it; otherwise the prediction. Measured on this machine
 * (generated MLPs, 20 per size, RSS delta per model / file size): with glibc defaults
 * 1.75–1.9× for 1–16 MiB models and ≈1.0× for ≥ 64 MiB, and the freed load buffers of small
 * models stay in the heap even after release; with MALLOC_MMAP_THRESHOLD_=131072 in the
 * environment 1.03–1.23×, and release returns the memory. Hence the default factor: 1.25
 * (ModelMesh's) when that variable is set, else 2. A session also costs ≈ 270 KiB whatever the
 * file (100 × mnist, 26 KB file: 270–320 KiB RSS each).
 *
 * Threads: intraOpNumThreads unset = onnxruntime's default, one pool per session (one extra
 * thread per session on this 2-core machine); with thousands of models set it to 1.
 * onnxruntime-node runs `session.run` synchronously on the JS thread (it blocks the event loop
 * for the duration of the inference); session creation does not block it noticeably.
 */

/** Fixed memory of an ORT session beyond its weights (measured, rounded down). */
export const SESSION_OVERHEAD_BYTES = 256 * 1024

export const GraphOptimizationLevel = Schema.Literal("disabled", "basic", "extended", "all")

export const OnnxRuntimeConfig = Schema.Struct({
  /** Preference order, e.g. ["cuda"] or ["tensorrt", "cuda"]; "cpu" is always appended as last resort. */
  executionProviders: Schema.optionalWith(Schema.Array(Schema.String), { default: () => ["cpu"] }),
  /** Threads of one inference; unset = onnxruntime's default (one per physical core). */
  intraOpNumThreads: Schema.optional(Schema.Int.pipe(Schema.positive())),
  interOpNumThreads: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** Idle ORT threads spin for work by default; with many sessions per host that burns CPU. */
  allowSpinning: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  graphOptimizationLevel: Schema.optionalWith(GraphOptimizationLevel, { default: () => "all" as const }),
  /** predictSize = file size × sizeFactor + session overhead (default factor: see the module comment). */
  sizeFactor: Schema.optional(Schema.Number.pipe(Schema.greaterThan(0))),
  /** Measure the size after load from RSS (true) or always use the prediction (false). */
  measureSize: Schema.optionalWith(Schema.Boolean, { default: () => true })
})
export type OnnxRuntimeConfig = typeof OnnxRuntimeConfig.Type
export type OnnxRuntimeConfigInput = typeof OnnxRuntimeConfig.Encoded

export const defaultSizeFactor = (env: NodeJS.ProcessEnv = process.env): number => (env.MALLOC_MMAP_THRESHOLD_ ? 1.25 : 2)

export interface OnnxRuntime extends ModelRuntime {
  /** The providers sessions are created with after the start-up probe (always ends with "cpu"). */
  readonly executionProviders: ReadonlyArray<string>
  readonly sizeFactor: number
  /** Unload every model still loaded (shutdown). */
  close(): Promise<void>
}

const ORT_TO_DATATYPE: Partial<Record<string, Datatype>> = {
  float32: "FP32",
  float64: "FP64",
  float16: "FP16",
  int8: "INT8",
  uint8: "UINT8",
  int16: "INT16",
  uint16: "UINT16",
  int32: "INT32",
  uint32: "UINT32",
  int64: "INT64",
  uint64: "UINT64",
  bool: "BOOL",
  string: "BYTES"
}
const DATATYPE_TO_ORT: Record<Datatype, ort.Tensor.Type> = {
  FP32: "float32",
  FP64: "float64",
  FP16: "float16",
  INT8: "int8",
  UINT8: "uint8",
  INT16: "int16",
  UINT16: "uint16",
  INT32: "int32",
  UINT32: "uint32",
  INT64: "int64",
  UINT64: "uint64",
  BOOL: "bool",
  BYTES: "string"
}

const firstLine = (e: unknown): string => String((e as Error)?.message ?? e).split("\n")[0]!.trim()

/** ORT messages that mean the caller's tensors do not fit the graph (not a server fault). */
const INPUT_FAULT = /invalid (dimensions|rank|input)|unexpected input data type|input .* (not found|missing)|shape mismatch|dimension mismatch|incompatible dimensions/i

const sessionOptions = (c: OnnxRuntimeConfig, providers: ReadonlyArray<string>): ort.InferenceSession.SessionOptions => {
  const spin = c.allowSpinning ? "1" : "0"
  const o: ort.InferenceSession.SessionOptions = {
    executionProviders: [...providers] as ort.InferenceSession.ExecutionProviderConfig[],
    graphOptimizationLevel: c.graphOptimizationLevel,
    // Failures reach the caller as RuntimeError; ORT's own stderr copy of each one (a bad
    // request would print one) would only interleave with the server's structured logs.
    logSeverityLevel: 4,
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } }
  }
  if (c.intraOpNumThreads !== undefined) o.intraOpNumThreads = c.intraOpNumThreads
  if (c.interOpNumThreads !== undefined) o.interOpNumThreads = c.interOpNumThreads
  return o
}

/**
 * Which of the wanted providers work here: each is tried alone (before cpu) on a tiny generated
 * model, including one inference. Unavailable ones are logged and dropped; cpu always stays.
 */
const probeProviders = async (c: OnnxRuntimeConfig, log: (line: string) => void): Promise<string[]> => {
  const wanted = c.executionProviders.filter((p) => p !== "cpu")
  const working: string[] = []
  const model = tinyModel()
  // The cpu session also initialises onnxruntime once, so that the first real load's RSS delta
  // is not inflated by runtime start-up.
  for (const ep of [...wanted, "cpu"]) {
    let session: ort.InferenceSession | undefined
    try {
      session = await ort.InferenceSession.create(model, sessionOptions(c, ep === "cpu" ? ["cpu"] : [ep, "cpu"]))
      await session.run({ input: new ort.Tensor("float32", new Float32Array([1, 2]), [1, 2]) })
      if (ep !== "cpu") working.push(ep)
    } catch (e) {
      if (ep === "cpu") throw new RuntimeError({ kind: "load", message: `onnx runtime: the cpu provider fails: ${firstLine(e)}` })
      log(`onnx runtime: execution provider "${ep}" is not available (${firstLine(e)}); falling back to cpu`)
    } finally {
      await session?.release().catch(() => undefined)
    }
  }
  const providers = [...working, "cpu"]
  if (wanted.length > 0 && working.length > 0) log(`onnx runtime: execution providers ${providers.join(", ")}`)
  return providers
}

const metaOf = (m: ort.InferenceSession.ValueMetadata, path: string, side: string): TensorMeta => {
  if (!m.isTensor) throw new RuntimeError({ kind: "load", message: `${path}: ${side} "${m.name}" is not a tensor; KServe v2 carries tensors only` })
  const datatype = ORT_TO_DATATYPE[m.type]
  if (!datatype) throw new RuntimeError({ kind: "load", message: `${path}: ${side} "${m.name}" has element type ${m.type}, which KServe v2 cannot carry` })
  return { name: m.name, datatype, shape: m.shape.map((d) => (typeof d === "number" ? d : -1)) }
}

/** Build the runtime: decode the config (throws ParseError naming the field), probe providers. */
export const makeOnnxRuntime = async (
  config: OnnxRuntimeConfigInput = {},
  log: (line: string) => void = (line) => console.warn(line)
): Promise<OnnxRuntime> => {
  const c = Schema.decodeUnknownSync(OnnxRuntimeConfig)(config)
  const providers = await probeProviders(c, log)
  const options = sessionOptions(c, providers)
  const sizeFactor = c.sizeFactor ?? defaultSizeFactor()
  const loaded = new Set<LoadedModel>()
  let loadsInFlight = 0
  let loadsStarted = 0
  const predict = (fileBytes: number): number => Math.round(fileBytes * sizeFactor) + SESSION_OVERHEAD_BYTES

  const fileSize = async (path: string, modelId: string): Promise<number> => {
    try {
      const s = await stat(path)
      if (!s.isFile()) throw new Error("not a regular file")
      return s.size
    } catch (e) {
      throw new RuntimeError({ kind: "load", message: `model ${modelId}: cannot read ${path}: ${firstLine(e)}` })
    }
  }

  const load = async (path: string, modelId: string): Promise<LoadedModel> => {
    const bytes = await fileSize(path, modelId)
    const alone = loadsInFlight === 0
    const ticket = ++loadsStarted
    loadsInFlight++
    const rssBefore = process.memoryUsage.rss()
    let session: ort.InferenceSession
    try {
      session = await ort.InferenceSession.create(path, options)
    } catch (e) {
      throw new RuntimeError({ kind: "load", message: `model ${modelId}: onnxruntime cannot load ${path}: ${firstLine(e)}` })
    } finally {
      loadsInFlight--
    }
    const rssDelta = process.memoryUsage.rss() - rssBefore
    const measured = c.measureSize && alone && loadsStarted === ticket
    const predicted = predict(bytes)
    const sizeBytes = measured ? Math.min(Math.max(rssDelta, bytes + SESSION_OVERHEAD_BYTES), 4 * predicted) : predicted
    try {
      const inputs = session.inputMetadata.map((m) => metaOf(m, path, "input"))
      const outputs = session.outputMetadata.map((m) => metaOf(m, path, "output"))
      const model = onnxModel(modelId, session, sizeBytes, inputs, outputs, () => loaded.delete(model))
      loaded.add(model)
      return model
    } catch (e) {
      await session.release().catch(() => undefined)
      throw e
    }
  }

  return {
    name: "onnx",
    formats: ["onnx"],
    executionProviders: providers,
    sizeFactor,
    predictSize: async (path) => predict(await fileSize(path, path)),
    load,
    close: async () => {
      await Promise.all([...loaded].map((m) => m.unload()))
    }
  }
}

const onnxModel = (
  modelId: string,
  session: ort.InferenceSession,
  sizeBytes: number,
  inputs: ReadonlyArray<TensorMeta>,
  outputs: ReadonlyArray<TensorMeta>,
  onUnload: () => void
): LoadedModel => {
  let released: Promise<void> | undefined
  const outputNamesAll = outputs.map((o) => o.name)

  const infer = async (given: ReadonlyArray<Tensor>, outputNames?: ReadonlyArray<string>): Promise<Tensor[]> => {
    if (released) throw new RuntimeError({ kind: "infer", message: `model ${modelId} is unloaded` })
    const problem = inputProblem(inputs, given)
    if (problem) throw new RuntimeError({ kind: "input", message: problem })
    const wanted = outputNames && outputNames.length > 0 ? outputNames : outputNamesAll
    for (const n of wanted) {
      if (!outputNamesAll.includes(n)) {
        throw new RuntimeError({ kind: "input", message: `unknown output "${n}" (the model's outputs: ${outputNamesAll.join(", ")})` })
      }
    }
    const feeds: Record<string, ort.Tensor> = {}
    for (const t of given) {
      feeds[t.name] = new ort.Tensor(DATATYPE_TO_ORT[t.datatype] as "float32", t.data as Float32Array, t.shape as number[])
    }
    let result: ort.InferenceSession.OnnxValueMapType
    try {
      result = await session.run(feeds, wanted as string[])
    } catch (e) {
      const message = `model ${modelId}: ${firstLine(e)}`
      throw new RuntimeError({ kind: INPUT_FAULT.test(message) ? "input" : "infer", message })
    }
    return wanted.map((name) => {
      const v = result[name]!
      return { name, datatype: ORT_TO_DATATYPE[v.type]!, shape: v.dims, data: v.data as Tensor["data"] }
    })
  }

  return {
    sizeBytes,
    inputs,
    outputs,
    infer,
    unload: () =>
      (released ??= session.release().then(onUnload, (e) => {
        onUnload()
        throw new RuntimeError({ kind: "infer", message: `model ${modelId}: release failed: ${firstLine(e)}` })
      }))
  }
}

/**
 * The ONNX runtime as a service: providers probed when the layer is built (unavailable ones
 * logged as warnings), every model still loaded unloaded when the scope closes.
 */
export const OnnxRuntimeLive = (config: OnnxRuntimeConfigInput = {}) =>
  Layer.scoped(
    ModelRuntimeService,
    Effect.acquireRelease(
      Effect.gen(function* () {
        const lines: string[] = []
        const rt = yield* Effect.tryPromise({
          try: () => makeOnnxRuntime(config, (l) => lines.push(l)),
          catch: (e) =>
            e instanceof RuntimeError ? e : new RuntimeError({ kind: "load", message: `onnx runtime: ${String((e as Error)?.message ?? e)}` })
        })
        for (const l of lines) yield* l.includes("not available") ? Effect.logWarning(l) : Effect.logInfo(l)
        return rt as ModelRuntime & { close(): Promise<void> }
      }),
      (rt) => Effect.promise(() => rt.close())
    )
  )
