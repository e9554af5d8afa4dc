import type { Tensor, TensorData } from "../../tensor.js"
import type { InferRequest } from "./infer-request.js"
import { halfToNumber, tensorBytes } from "./tensor-bytes.js"

export interface EncodedResponse {
  readonly body: Buffer
  /** Set when binary outputs follow the JSON: the `Inference-Header-Content-Length` value. */
  readonly headerLength?: number
  readonly contentType: string
}

/**
 * Which outputs the client wants in binary: `true` = all (request-level
 * `parameters.binary_data_output`), otherwise the names with `parameters.binary_data: true`.
 */
export const binaryOutputsOf = (req: InferRequest): boolean | ReadonlySet<string> => {
  if (req.binaryOutput) return true
  if (!req.outputs) return false
  let set: Set<string> | undefined
  for (const o of req.outputs) if (o.binary) (set ??= new Set()).add(o.name)
  return set ?? false
}

/**
 * Tensors → KServe v2 REST response: plain JSON, or (binary tensor data extension) a JSON header
 * followed by the raw little-endian bytes of the outputs asked for in binary.
 *
 * The JSON is assembled as a string, not via JSON.stringify of an object with number arrays:
 * typed-array join avoids an intermediate JS array per output (this is the hit path).
 * JSON cannot hold NaN or ±Infinity; they are written as null (ask for binary to keep them);
 * -0 is written as -0.
 * FP16 outputs are written in JSON as the numbers their bits denote (exact).
 */
export const encodeInferResponse = (
  modelName: string,
  version: string | undefined,
  id: string | undefined,
  outputs: ReadonlyArray<Tensor>,
  binaryOutputs: boolean | ReadonlySet<string>
): EncodedResponse => {
  let json = `{"model_name":${JSON.stringify(modelName)}`
  if (version !== undefined) json += `,"model_version":${JSON.stringify(version)}`
  if (id !== undefined) json += `,"id":${JSON.stringify(id)}`
  json += `,"outputs":[`
  let binary: Uint8Array[] | undefined
  for (let j = 0; j < outputs.length; j++) {
    const t = outputs[j]!
    if (j > 0) json += ","
    json += `{"name":${JSON.stringify(t.name)},"datatype":"${t.datatype}","shape":[${t.shape.join(",")}]`
    if (binaryOutputs === true || (binaryOutputs !== false && binaryOutputs.has(t.name))) {
      const bytes = tensorBytes(t.data)
      ;(binary ??= []).push(bytes)
      json += `,"parameters":{"binary_data_size":${bytes.byteLength}}}`
    } else {
      json += `,"data":[${jsonData(t.datatype, t.data)}]}`
    }
  }
  json += "]}"
  if (!binary) return { body: Buffer.from(json, "utf8"), contentType: "application/json" }
  const header = Buffer.from(json, "utf8")
  return {
    body: Buffer.concat([header, ...binary]),
    headerLength: header.length,
    contentType: "application/octet-stream"
  }
}

const floatJson = (v: number): string => (v === 0 && 1 / v < 0 ? "-0" : Number.isFinite(v) ? String(v) : "null")

const jsonData = (dt: Tensor["datatype"], data: TensorData): string => {
  if (Array.isArray(data)) return JSON.stringify(data).slice(1, -1)
  switch (dt) {
    case "BOOL": {
      let s = ""
      for (let k = 0; k < data.length; k++) s += (k ? "," : "") + (data[k] ? "true" : "false")
      return s
    }
    case "FP16": {
      const u = data as Uint16Array
      const parts = new Array<string>(u.length)
      for (let k = 0; k < u.length; k++) {
        parts[k] = floatJson(halfToNumber(u[k]!))
      }
      return parts.join(",")
    }
    case "FP32":
    case "FP64": {
      const a = data as Float32Array
      for (let k = 0; k < a.length; k++) {
        const v = a[k]!
        // -0 (join would print "0") or NaN / ±Infinity (join would print invalid JSON)
        if (v === 0 ? 1 / v < 0 : v - v !== 0) return Array.from(a, floatJson).join(",")
      }
      return a.join(",")
    }
    default:
      // Integers (BigInt64Array joins as exact decimal digits too).
      return (data as Int32Array).join(",")
  }
}
