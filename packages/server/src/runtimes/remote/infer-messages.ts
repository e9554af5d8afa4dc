import type { Tensor, TensorMeta } from "../../tensor.js"
import { isDatatype } from "../../tensor.js"
import { decodeModelInferRequest, tensorBytes, type GrpcInferTensor, type GrpcModelInferRequest, type GrpcModelInferResponse } from "../../transport/kserve-v2/index.js"

/**
 * Tensors to and from the KServe v2 messages a remote runtime gets and answers. Inputs go as
 * raw_input_contents (one copy of each tensor's bytes; every datatype, FP16 included); the
 * model name field carries the model id too, as ModelMesh's id injection into field 1 does.
 */
export const inferRequestOf = (modelId: string, inputs: ReadonlyArray<Tensor>, outputNames: ReadonlyArray<string> | undefined): GrpcModelInferRequest => ({
  model_name: modelId,
  inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] })),
  raw_input_contents: inputs.map((t) => {
    const b = tensorBytes(t.data)
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  }),
  ...(outputNames && outputNames.length > 0 ? { outputs: outputNames.map((name) => ({ name })) } : {})
})

/**
 * The runtime's answer as tensors. A response has the same tensor layout as a request (typed
 * contents or raw contents, one per tensor), so the request decoder reads it: its checks
 * (sizes, datatypes, contents vs raw) apply to what the runtime sent.
 */
export const outputsOf = (res: GrpcModelInferResponse): Tensor[] => {
  const outputs = (res.outputs ?? []) as GrpcInferTensor[]
  if (outputs.length === 0) return []
  const meta: TensorMeta[] = outputs.map((o) => ({ name: o.name ?? "", datatype: isDatatype(o.datatype) ? o.datatype : "BYTES", shape: [] }))
  return [...decodeModelInferRequest({ inputs: outputs, raw_input_contents: res.raw_output_contents ?? [] }, meta).inputs]
}

/** v2 ModelMetadata tensors (shapes may arrive as int64 strings) as TensorMeta. */
export const tensorMetaOf = (ts: ReadonlyArray<{ name?: string; datatype?: string; shape?: ReadonlyArray<unknown> }> | undefined): TensorMeta[] =>
  (ts ?? []).flatMap((t) => (t.name && isDatatype(t.datatype) ? [{ name: t.name, datatype: t.datatype, shape: (t.shape ?? []).map((d) => Number(d)) }] : []))
