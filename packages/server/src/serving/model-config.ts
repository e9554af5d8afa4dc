import type { Datatype, TensorMeta } from "../tensor.js"
import type { ModelMetadata } from "./infer.js"

/**
 * A model's configuration in the shape of Triton's model configuration extension
 * (`GET /v2/models/{m}/config`, gRPC ModelConfig; the fields of Triton's model_config.proto that
 * describe what meshkit serves). Triton clients and perf_analyzer read max_batch_size and the
 * input dims from it to build requests.
 *
 * Triton's batching convention: when max_batch_size > 0 the first dimension of every input and
 * output is the batch and is left out of `dims`. meshkit reports that when every tensor's
 * first dimension is variable (-1), which is the case for `meshkit models make` models, and
 * max_batch_size 0 with the full shapes otherwise. meshkit itself puts no limit on a batch
 * (the body size limit does); MAX_BATCH_SIZE is the figure tools are told to stay under.
 */
export const MAX_BATCH_SIZE = 1024

export interface TritonTensorConfig {
  readonly name: string
  readonly data_type: string
  readonly dims: ReadonlyArray<number>
}

export interface TritonModelConfig {
  readonly name: string
  readonly platform: string
  readonly backend: string
  readonly max_batch_size: number
  readonly input: ReadonlyArray<TritonTensorConfig>
  readonly output: ReadonlyArray<TritonTensorConfig>
  readonly instance_group: ReadonlyArray<{ readonly name: string; readonly kind: "KIND_CPU"; readonly count: number }>
}

/** KServe v2 datatype → Triton's DataType enum name (BYTES is TYPE_STRING in Triton). */
export const tritonDataType = (d: Datatype): string => (d === "BYTES" ? "TYPE_STRING" : `TYPE_${d}`)

/** Triton's backend for a platform (onnxruntime_onnx → onnxruntime); otherwise the platform itself. */
const backendOf = (platform: string): string => (platform === "onnxruntime_onnx" ? "onnxruntime" : platform)

const batched = (ts: ReadonlyArray<TensorMeta>): boolean => ts.every((t) => t.shape.length > 0 && t.shape[0] === -1)

export const tritonModelConfig = (m: ModelMetadata): TritonModelConfig => {
  const batch = m.inputs.length > 0 && batched(m.inputs) && batched(m.outputs)
  const tensor = (t: TensorMeta): TritonTensorConfig => ({
    name: t.name,
    data_type: tritonDataType(t.datatype),
    dims: batch ? t.shape.slice(1) : [...t.shape]
  })
  return {
    name: m.name,
    platform: m.platform,
    backend: backendOf(m.platform),
    max_batch_size: batch ? MAX_BATCH_SIZE : 0,
    input: m.inputs.map(tensor),
    output: m.outputs.map(tensor),
    instance_group: [{ name: m.name, kind: "KIND_CPU", count: 1 }]
  }
}
