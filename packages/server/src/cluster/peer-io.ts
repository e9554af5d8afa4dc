/**
 * A model's inputs and outputs (KServe's model metadata, Triton's model config) are known once
 * the model has been loaded in a process. In cluster mode a model held elsewhere at its
 * maxCopies must not be loaded here just to describe it, so the instance asks a holder
 * (`POST /v2/internal/io/{id}`, answered from what that holder already knows, never by loading)
 * and keeps the answer: the description does not change while the model's file does not.
 */
import { isDatatype, type TensorMeta } from "../tensor.js"
import type { ModelIo } from "../instance/model-entry.js"

const tensorMetaOf = (v: unknown): TensorMeta | undefined => {
  if (typeof v !== "object" || v === null) return undefined
  const { name, datatype, shape } = v as Record<string, unknown>
  if (typeof name !== "string" || !isDatatype(datatype)) return undefined
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d))) return undefined
  return { name, datatype, shape: shape as number[] }
}

/** A peer's answer as ModelIo, or undefined when it is not one (a peer of another version, a bug). */
export const modelIoOf = (text: string): ModelIo | undefined => {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof v !== "object" || v === null) return undefined
  const { inputs, outputs } = v as Record<string, unknown>
  if (!Array.isArray(inputs) || !Array.isArray(outputs)) return undefined
  const ins = inputs.map(tensorMetaOf)
  const outs = outputs.map(tensorMetaOf)
  if (ins.some((m) => m === undefined) || outs.some((m) => m === undefined)) return undefined
  return { inputs: ins as TensorMeta[], outputs: outs as TensorMeta[] }
}
