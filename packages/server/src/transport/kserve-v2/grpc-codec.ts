import { bytesPerElement, isDatatype, shapeSize, type Datatype, type Tensor, type TensorData, type TensorMeta } from "../../tensor.js"
import { invalid } from "./errors.js"
import type { InferRequest, ParameterValue, RequestedOutput } from "./infer-request.js"
import { bytesElementsFrom, fixedFromBytes, tensorBytes } from "./tensor-bytes.js"

/**
 * gRPC ModelInferRequest / ModelInferResponse (as @grpc/proto-loader objects, loaded with
 * GRPC_LOADER_OPTIONS) ↔ tensors. The codec also accepts the objects other loader options give
 * (int64 as number, string or Long; missing repeated fields).
 */

/** An int64 as proto-loader may hand it over. */
export type Int64Like = number | string | bigint | { toString(): string }

export interface GrpcParameter {
  bool_param?: boolean
  int64_param?: Int64Like
  string_param?: string
  double_param?: number
  uint64_param?: Int64Like
  parameter_choice?: string
}

export interface GrpcTensorContents {
  bool_contents?: boolean[]
  int_contents?: number[] | Int32Array
  int64_contents?: Int64Like[]
  uint_contents?: number[] | Uint32Array
  uint64_contents?: Int64Like[]
  fp32_contents?: number[] | Float32Array
  fp64_contents?: number[] | Float64Array
  bytes_contents?: Uint8Array[]
}

export interface GrpcInferTensor {
  name?: string
  datatype?: string
  shape?: Int64Like[]
  parameters?: Record<string, GrpcParameter>
  contents?: GrpcTensorContents | null
}

export interface GrpcModelInferRequest {
  model_name?: string
  model_version?: string
  id?: string
  parameters?: Record<string, GrpcParameter>
  inputs?: GrpcInferTensor[]
  outputs?: { name?: string; parameters?: Record<string, GrpcParameter> }[]
  raw_input_contents?: Uint8Array[]
}

export interface GrpcModelInferResponse {
  model_name: string
  model_version: string
  id: string
  outputs: GrpcInferTensor[]
  raw_output_contents: Uint8Array[]
}

/** Which InferTensorContents field carries a datatype (FP16 has none: raw only). */
export const contentsField = (dt: Datatype): keyof GrpcTensorContents | undefined => {
  switch (dt) {
    case "BOOL":
      return "bool_contents"
    case "INT8":
    case "INT16":
    case "INT32":
      return "int_contents"
    case "INT64":
      return "int64_contents"
    case "UINT8":
    case "UINT16":
    case "UINT32":
      return "uint_contents"
    case "UINT64":
      return "uint64_contents"
    case "FP32":
      return "fp32_contents"
    case "FP64":
      return "fp64_contents"
    case "BYTES":
      return "bytes_contents"
    case "FP16":
      return undefined
  }
}

const parameterValue = (p: GrpcParameter): ParameterValue | undefined => {
  const key = (p.parameter_choice ??
    (["bool_param", "int64_param", "string_param", "double_param", "uint64_param"] as const).find((k) => p[k] !== undefined)) as
    | keyof GrpcParameter
    | undefined
  if (key === undefined) return undefined
  const v = p[key]
  if (key === "int64_param" || key === "uint64_param") {
    const b = BigInt(String(v))
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b
  }
  return v as ParameterValue
}

const parametersOf = (ps: Record<string, GrpcParameter> | undefined): Record<string, ParameterValue> | undefined => {
  if (!ps) return undefined
  const out: Record<string, ParameterValue> = {}
  let any = false
  for (const [k, p] of Object.entries(ps)) {
    const v = parameterValue(p)
    if (v !== undefined) (out[k] = v), (any = true)
  }
  return any ? out : undefined
}

const dimOf = (d: Int64Like, name: string): number => {
  const n = typeof d === "number" ? d : Number(String(d))
  if (!Number.isSafeInteger(n) || n < 0) throw invalid(`input "${name}": shape dimensions must be non-negative integers, got ${String(d)}`)
  return n
}

const toBigInt = (v: Int64Like): bigint => (typeof v === "bigint" ? v : BigInt(typeof v === "number" ? v : String(v)))

const RANGE: Partial<Record<Datatype, readonly [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  UINT8: [0, 255],
  UINT16: [0, 65535]
}

const fromContents = (dt: Datatype, c: GrpcTensorContents | null | undefined, count: number, name: string): TensorData => {
  const field = contentsField(dt)
  if (field === undefined) throw invalid(`input "${name}": FP16 has no typed contents field; send it in raw_input_contents`)
  const values = (c?.[field] ?? []) as ArrayLike<unknown>
  if (values.length !== count) {
    throw invalid(`input "${name}": contents.${field} has ${values.length} elements but the shape needs ${count}`)
  }
  for (const other of Object.keys(c ?? {}) as (keyof GrpcTensorContents)[]) {
    if (other !== field && (c![other] as ArrayLike<unknown> | undefined)?.length) {
      throw invalid(`input "${name}": datatype ${dt} takes contents.${field}, but contents.${other} is set`)
    }
  }
  switch (dt) {
    case "FP32":
      return Float32Array.from(values as ArrayLike<number>)
    case "FP64":
      return Float64Array.from(values as ArrayLike<number>)
    case "BOOL":
      return Uint8Array.from(values as ArrayLike<boolean>, (b) => (b ? 1 : 0))
    case "BYTES":
      return Array.from(values as ArrayLike<Uint8Array>, (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf8"))
    case "INT64":
      return BigInt64Array.from(values as ArrayLike<Int64Like>, toBigInt)
    case "UINT64":
      return BigUint64Array.from(values as ArrayLike<Int64Like>, toBigInt)
    case "INT32":
      return Int32Array.from(values as ArrayLike<number>)
    case "UINT32":
      return Uint32Array.from(values as ArrayLike<number>)
    default: {
      // INT8/INT16/UINT8/UINT16 travel widened to 32 bits: refuse values that would wrap.
      const [lo, hi] = RANGE[dt]!
      const nums = values as ArrayLike<number>
      for (let k = 0; k < nums.length; k++) {
        const v = nums[k]!
        if (v < lo || v > hi) throw invalid(`input "${name}": element ${k} (${v}) is out of range for ${dt}`)
      }
      const Ctor = { INT8: Int8Array, INT16: Int16Array, UINT8: Uint8Array, UINT16: Uint16Array }[dt as "INT8"]
      return Ctor.from(nums)
    }
  }
}

const fromRaw = (dt: Datatype, bytes: Uint8Array, count: number, name: string): TensorData => {
  if (dt === "BYTES") {
    const r = bytesElementsFrom(bytes)
    if (typeof r === "string") throw invalid(`input "${name}": ${r}`)
    if (r.length !== count) throw invalid(`input "${name}": raw contents hold ${r.length} BYTES elements but the shape needs ${count}`)
    return r
  }
  const want = count * bytesPerElement(dt)!
  if (bytes.byteLength !== want) {
    throw invalid(`input "${name}": raw contents are ${bytes.byteLength} bytes but shape and datatype ${dt} need ${want}`)
  }
  // Copy: gRPC hands out slices of its receive buffer, which need not be aligned for a typed view.
  return fixedFromBytes(dt, bytes)
}

/** ModelInferRequest → InferRequest (same shape as the REST decoder's). Throws InvalidRequest. */
export const decodeModelInferRequest = (req: GrpcModelInferRequest, meta: ReadonlyArray<TensorMeta>): InferRequest => {
  const rawInputs = req.inputs ?? []
  if (rawInputs.length === 0) throw invalid(`missing field "inputs"`)
  const raw = req.raw_input_contents ?? []
  const useRaw = raw.length > 0
  if (useRaw && raw.length !== rawInputs.length) {
    throw invalid(`raw_input_contents has ${raw.length} entries but the request has ${rawInputs.length} inputs`)
  }
  const inputs: Tensor[] = rawInputs.map((t, j) => {
    const name = t.name
    if (!name) throw invalid(`inputs[${j}]: missing field "name"`)
    for (let k = 0; k < j; k++) if (rawInputs[k]!.name === name) throw invalid(`input "${name}" appears twice`)
    const datatype = t.datatype
    if (!datatype) throw invalid(`input "${name}": missing field "datatype"`)
    if (!isDatatype(datatype)) throw invalid(`input "${name}": unknown datatype ${JSON.stringify(datatype)}`)
    const m = meta.find((x) => x.name === name)
    if (!m) throw invalid(`unknown input "${name}" (the model's inputs: ${meta.map((x) => x.name).join(", ")})`)
    if (m.datatype !== datatype) throw invalid(`input "${name}": datatype ${datatype} does not match the model's ${m.datatype}`)
    const shape = (t.shape ?? []).map((d) => dimOf(d, name))
    const count = shapeSize(shape)
    let data: TensorData
    if (useRaw) {
      if (hasContents(t.contents)) throw invalid(`input "${name}": contents must be empty when raw_input_contents is used`)
      data = fromRaw(datatype, raw[j]!, count, name)
    } else {
      data = fromContents(datatype, t.contents, count, name)
    }
    return { name, datatype, shape, data }
  })
  const outputs: RequestedOutput[] | undefined = req.outputs?.length
    ? req.outputs.map((o, j) => {
        if (!o.name) throw invalid(`outputs[${j}]: missing field "name"`)
        return { name: o.name, binary: useRaw }
      })
    : undefined
  const out: { -readonly [K in keyof InferRequest]: InferRequest[K] } = { inputs, binaryOutput: useRaw }
  if (req.id) out.id = req.id
  const parameters = parametersOf(req.parameters)
  if (parameters) out.parameters = parameters
  if (outputs) out.outputs = outputs
  return out
}

const hasContents = (c: GrpcTensorContents | null | undefined): boolean =>
  !!c && Object.values(c).some((v) => (v as ArrayLike<unknown> | undefined)?.length)

/**
 * Tensors → ModelInferResponse. `raw` mirrors the request (raw in → raw out); an FP16 output
 * forces raw for all outputs, since typed contents have no FP16 field and the protocol does not
 * allow mixing the two forms in one response.
 */
export const encodeModelInferResponse = (
  modelName: string,
  version: string | undefined,
  id: string | undefined,
  outputs: ReadonlyArray<Tensor>,
  raw: boolean
): GrpcModelInferResponse => {
  const useRaw = raw || outputs.some((t) => t.datatype === "FP16")
  return {
    model_name: modelName,
    model_version: version ?? "",
    id: id ?? "",
    outputs: outputs.map((t) => {
      const o: GrpcInferTensor = { name: t.name, datatype: t.datatype, shape: [...t.shape] }
      if (!useRaw) o.contents = toContents(t)
      return o
    }),
    raw_output_contents: useRaw ? outputs.map((t) => tensorBytes(t.data)) : []
  }
}

const toContents = (t: Tensor): GrpcTensorContents => {
  const field = contentsField(t.datatype)!
  const d = t.data
  switch (t.datatype) {
    case "BYTES":
      return { bytes_contents: (d as string[]).map((s) => Buffer.from(s, "utf8")) }
    case "BOOL":
      return { bool_contents: Array.from(d as Uint8Array, (v) => v !== 0) }
    case "INT64":
    case "UINT64":
      // protobufjs takes int64 as number | string | Long, not BigInt: decimal strings stay exact.
      return { [field]: Array.from(d as BigInt64Array, (v) => v.toString()) }
    default:
      // proto-loader's fromObject insists on a real Array (Array.isArray) for repeated fields.
      return { [field]: Array.from(d as Float32Array) }
  }
}
