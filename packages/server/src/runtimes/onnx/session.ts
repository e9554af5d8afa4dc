import * as ort from "onnxruntime-node"
import { tinyModel } from "@meshkit/onnx-models"
import type { OnnxRuntimeConfig } from "./options.js"
import { type Datatype, RuntimeError, type Tensor, type TensorMeta } from "../runtime.js"
import { inputProblem } from "../validate.js"

/** onnxruntime-node calls shared by the in-process runtime and its worker threads. */

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

export const firstLine = (e: unknown): string => String((e as Error)?.message ?? e).split("\n")[0]!.trim()

/** ORT messages that mean the caller's tensors do not fit the graph (not a server fault). */
const INPUT_FAULT = /invalid (dimensions|rank|input)|unexpected input data type|input .* (not found|missing)|shape mismatch|dimension mismatch|incompatible dimensions/i

export const sessionOptions = (c: OnnxRuntimeConfig, providers: ReadonlyArray<string>): ort.InferenceSession.SessionOptions => {
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
 * The cpu session also initialises onnxruntime, so that the first real load's RSS delta is not
 * inflated by runtime start-up.
 */
export const probeProviders = async (c: OnnxRuntimeConfig, log: (line: string) => void): Promise<string[]> => {
  const wanted = c.executionProviders.filter((p) => p !== "cpu")
  const working: string[] = []
  const model = tinyModel()
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

export interface OpenSession {
  readonly session: ort.InferenceSession
  readonly inputs: ReadonlyArray<TensorMeta>
  readonly outputs: ReadonlyArray<TensorMeta>
}

/** Create a session and read its metadata. Rejects with RuntimeError kind "load". */
export const openSession = async (path: string, modelId: string, options: ort.InferenceSession.SessionOptions): Promise<OpenSession> => {
  let session: ort.InferenceSession
  try {
    session = await ort.InferenceSession.create(path, options)
  } catch (e) {
    throw new RuntimeError({ kind: "load", message: `model ${modelId}: onnxruntime cannot load ${path}: ${firstLine(e)}` })
  }
  try {
    return {
      session,
      inputs: session.inputMetadata.map((m) => metaOf(m, path, "input")),
      outputs: session.outputMetadata.map((m) => metaOf(m, path, "output"))
    }
  } catch (e) {
    await session.release().catch(() => undefined)
    throw e
  }
}

/** Validate and run. Rejects with RuntimeError: "input" for caller mistakes, "infer" otherwise. */
export const runSession = async (
  s: OpenSession,
  modelId: string,
  given: ReadonlyArray<Tensor>,
  outputNames?: ReadonlyArray<string>
): Promise<Tensor[]> => {
  const problem = inputProblem(s.inputs, given)
  if (problem) throw new RuntimeError({ kind: "input", message: problem })
  const all = s.outputs
  const wanted = outputNames && outputNames.length > 0 ? outputNames : all.map((o) => o.name)
  for (const n of wanted) {
    if (!all.some((o) => o.name === n)) {
      throw new RuntimeError({ kind: "input", message: `unknown output "${n}" (the model's outputs: ${all.map((o) => o.name).join(", ")})` })
    }
  }
  const feeds: Record<string, ort.Tensor> = {}
  for (const t of given) {
    feeds[t.name] = new ort.Tensor(DATATYPE_TO_ORT[t.datatype] as "float32", t.data as Float32Array, t.shape as number[])
  }
  let result: ort.InferenceSession.OnnxValueMapType
  try {
    result = await s.session.run(feeds, wanted as string[])
  } catch (e) {
    const message = `model ${modelId}: ${firstLine(e)}`
    throw new RuntimeError({ kind: INPUT_FAULT.test(message) ? "input" : "infer", message })
  }
  return wanted.map((name) => {
    const v = result[name]!
    return { name, datatype: ORT_TO_DATATYPE[v.type]!, shape: v.dims, data: v.data as Tensor["data"] }
  })
}
