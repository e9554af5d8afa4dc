import { bytesPerElement, isDatatype, shapeSize, type Datatype, type Tensor, type TensorData, type TensorMeta } from "../../tensor.js"
import { PayloadTooLarge } from "../../errors.js"
import { invalid } from "./errors.js"
import type { InferRequest, ParameterValue, RequestedOutput } from "./infer-request.js"
import { parseJsonBigInt } from "./json-bigint.js"
import { allocate, bytesElementsFrom, fixedFromBytes } from "./tensor-bytes.js"

/**
 * KServe v2 REST inference request → tensors.
 *
 * `body` is the whole HTTP body; with the binary tensor data extension, `headerLength` (the
 * `Inference-Header-Content-Length` header) bytes of JSON come first and the raw data of every
 * input that has `parameters.binary_data_size` follows, in input order.
 * `meta` are the model's inputs: names and datatypes are checked here so the caller gets a
 * precise 400; shapes against the model are checked by the runtime.
 *
 * Throws InvalidRequest (synchronously: this is the hit path), or PayloadTooLarge when the
 * inputs declare more than `limits.maxElements` elements (checked before anything is allocated).
 */
export interface DecodeLimits {
  /** tensor elements one request may declare, all inputs together (--max-request-elements) */
  readonly maxElements: number
}
export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxElements: 16 * 1024 * 1024 }

/** How deep `data` may nest ([[[...]]]: one level per dimension). */
export const MAX_DATA_DEPTH = 64

export const decodeInferRequest = (
  body: Uint8Array,
  headerLength: number | undefined,
  meta: ReadonlyArray<TensorMeta>,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS
): InferRequest => {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  if (headerLength !== undefined && (!Number.isSafeInteger(headerLength) || headerLength < 0 || headerLength > buf.length)) {
    throw invalid(`Inference-Header-Content-Length ${headerLength} is not between 0 and the body length ${buf.length}`)
  }
  const jsonEnd = headerLength ?? buf.length
  const text = buf.toString("utf8", 0, jsonEnd)
  let req: unknown
  try {
    // 64-bit integers need an exact parse; the common (float) request takes the native parser.
    req = text.includes("INT64") ? parseJsonBigInt(text) : JSON.parse(text)
  } catch (e) {
    throw invalid(`malformed JSON in request body: ${(e as Error).message}`)
  }
  if (!isObject(req)) throw invalid("request body must be a JSON object")

  const id = req.id
  if (id !== undefined && typeof id !== "string") throw invalid(`"id" must be a string`)
  const parameters = optionalParameters(req.parameters, "parameters")

  const rawInputs = req.inputs
  if (rawInputs === undefined) throw invalid(`missing field "inputs"`)
  if (!Array.isArray(rawInputs) || rawInputs.length === 0) throw invalid(`"inputs" must be a non-empty array`)

  let cursor = jsonEnd
  let elements = 0
  const inputs: Tensor[] = new Array(rawInputs.length)
  for (let j = 0; j < rawInputs.length; j++) {
    const raw = rawInputs[j]
    if (!isObject(raw)) throw invalid(`inputs[${j}] must be an object`)
    const name = raw.name
    if (typeof name !== "string") throw invalid(`inputs[${j}]: missing field "name"`)
    for (let k = 0; k < j; k++) if (inputs[k]!.name === name) throw invalid(`input "${name}" appears twice`)
    const datatype = raw.datatype
    if (datatype === undefined) throw invalid(`input "${name}": missing field "datatype"`)
    if (!isDatatype(datatype)) throw invalid(`input "${name}": unknown datatype ${preview(datatype)}`)
    const shape = shapeOf(raw.shape, name)
    const m = findMeta(meta, name)
    if (m.datatype !== datatype) throw invalid(`input "${name}": datatype ${datatype} does not match the model's ${m.datatype}`)
    const count = shapeSize(shape)
    elements += count
    if (!(elements <= limits.maxElements)) {
      throw new PayloadTooLarge({
        message: `input "${name}": shape [${shape.join(",")}] brings the request to ${elements} tensor elements; at most ${limits.maxElements} are accepted (--max-request-elements)`
      })
    }
    const params = optionalParameters(raw.parameters, `input "${name}" parameters`)
    const binarySize = params?.binary_data_size

    let data: TensorData
    if (binarySize !== undefined) {
      if (raw.data !== undefined) throw invalid(`input "${name}": has both "data" and parameters.binary_data_size`)
      if (headerLength === undefined) {
        throw invalid(`input "${name}": parameters.binary_data_size needs the Inference-Header-Content-Length header`)
      }
      const size = typeof binarySize === "bigint" ? Number(binarySize) : binarySize
      if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
        throw invalid(`input "${name}": parameters.binary_data_size must be a non-negative integer`)
      }
      if (cursor + size > buf.length) {
        throw invalid(`input "${name}": binary_data_size ${size} exceeds the ${buf.length - cursor} bytes of binary data left in the body`)
      }
      data = fromBinary(datatype, buf.subarray(cursor, cursor + size), count, name)
      cursor += size
    } else {
      if (raw.data === undefined) throw invalid(`input "${name}": missing field "data"`)
      data = fromJson(datatype, raw.data, count, name, shape)
    }
    inputs[j] = { name, datatype, shape, data }
  }
  if (cursor !== buf.length) {
    throw invalid(
      headerLength === undefined
        ? "trailing bytes after the JSON request"
        : `binary data: the body has ${buf.length - jsonEnd} bytes after the JSON header but the inputs declare ${cursor - jsonEnd}`
    )
  }

  let outputs: RequestedOutput[] | undefined
  if (req.outputs !== undefined) {
    if (!Array.isArray(req.outputs)) throw invalid(`"outputs" must be an array`)
    outputs = req.outputs.map((o, j) => {
      if (!isObject(o) || typeof o.name !== "string") throw invalid(`outputs[${j}]: missing field "name"`)
      const p = optionalParameters(o.parameters, `output "${o.name}" parameters`)
      const b = p?.binary_data
      if (b !== undefined && typeof b !== "boolean") throw invalid(`output "${o.name}": parameters.binary_data must be true or false`)
      return { name: o.name, binary: b === true }
    })
  }
  const bo = parameters?.binary_data_output
  if (bo !== undefined && typeof bo !== "boolean") throw invalid(`parameters.binary_data_output must be true or false`)

  const out: { -readonly [K in keyof InferRequest]: InferRequest[K] } = { inputs, binaryOutput: bo === true }
  if (id !== undefined) out.id = id
  if (parameters !== undefined) out.parameters = parameters
  if (outputs !== undefined) out.outputs = outputs
  return out
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** KServe parameters are flat: each value a boolean, number or string (so nothing nested reaches the runtime). */
const optionalParameters = (v: unknown, what: string): Record<string, ParameterValue> | undefined => {
  if (v === undefined) return undefined
  if (!isObject(v)) throw invalid(`${what} must be an object`)
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue
    const x = v[k]
    const t = typeof x
    if (t !== "boolean" && t !== "number" && t !== "string" && t !== "bigint") {
      throw invalid(`${what}: "${k.length > 200 ? `${k.slice(0, 200)}…` : k}" must be a boolean, number or string, not ${kindOfValue(x)} (parameters are not nested)`)
    }
  }
  return v as Record<string, ParameterValue>
}

/** A short description of a JSON value, for messages (never the value itself: it may be huge or deeply nested). */
const kindOfValue = (x: unknown): string => (x === null ? "null" : Array.isArray(x) ? "an array" : typeof x === "object" ? "an object" : typeof x)

/** A JSON value for a message: primitives as JSON (cut), containers by kind. */
const preview = (x: unknown): string => {
  if (typeof x === "bigint") return x.toString()
  if (x === null || typeof x !== "object") {
    const s = x === undefined ? "undefined" : JSON.stringify(x)
    return s.length > 60 ? `${s.slice(0, 60)}…` : s
  }
  return kindOfValue(x)
}

const findMeta = (meta: ReadonlyArray<TensorMeta>, name: string): TensorMeta => {
  for (const m of meta) if (m.name === name) return m
  throw invalid(`unknown input "${name}" (the model's inputs: ${meta.map((m) => m.name).join(", ")})`)
}

const shapeOf = (v: unknown, name: string): number[] => {
  if (v === undefined) throw invalid(`input "${name}": missing field "shape"`)
  if (!Array.isArray(v)) throw invalid(`input "${name}": "shape" must be an array of non-negative integers`)
  for (const d of v) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      throw invalid(`input "${name}": "shape" must be an array of non-negative integers, got an element ${preview(d)}`)
    }
  }
  return v as number[]
}

const fromBinary = (dt: Datatype, bytes: Buffer, count: number, name: string): TensorData => {
  if (dt === "BYTES") {
    const r = bytesElementsFrom(bytes)
    if (typeof r === "string") throw invalid(`input "${name}": ${r}`)
    if (r.length !== count) throw invalid(`input "${name}": binary data holds ${r.length} BYTES elements but the shape needs ${count}`)
    return r
  }
  const want = count * bytesPerElement(dt)!
  if (bytes.length !== want) {
    throw invalid(`input "${name}": binary_data_size is ${bytes.length} bytes but shape and datatype ${dt} need ${want}`)
  }
  return fixedFromBytes(dt, bytes)
}

/**
 * Nested `data` ([[1,2],[3,4]]) → flat, row-major. Iterative, with a depth cap: a request
 * nested thousands deep must be a 400, not a stack overflow.
 */
const flatten = (data: unknown[], name: string): unknown[] => {
  const out: unknown[] = []
  const arrays: unknown[][] = [data]
  const next: number[] = [0]
  while (arrays.length > 0) {
    const top = arrays.length - 1
    const a = arrays[top]!
    const i = next[top]!
    if (i >= a.length) {
      arrays.pop()
      next.pop()
      continue
    }
    next[top] = i + 1
    const x = a[i]
    if (Array.isArray(x)) {
      if (arrays.length >= MAX_DATA_DEPTH) throw invalid(`input "${name}": "data" is nested deeper than ${MAX_DATA_DEPTH} levels`)
      arrays.push(x)
      next.push(0)
    } else out.push(x)
  }
  return out
}

const INT_RANGE: Partial<Record<Datatype, readonly [number, number]>> = {
  UINT8: [0, 255],
  INT8: [-128, 127],
  UINT16: [0, 65535],
  INT16: [-32768, 32767],
  UINT32: [0, 4294967295],
  INT32: [-2147483648, 2147483647]
}
const I64_MIN = -(2n ** 63n)
const I64_MAX = 2n ** 63n - 1n
const U64_MAX = 2n ** 64n - 1n

const fromJson = (dt: Datatype, raw: unknown, count: number, name: string, shape: number[]): TensorData => {
  if (dt === "FP16") throw invalid(`input "${name}": FP16 data cannot be sent as JSON; use the binary tensor data extension`)
  if (!Array.isArray(raw)) {
    // A scalar is accepted for a single-element tensor, as some clients send it.
    if (count === 1 && raw !== null && typeof raw !== "object") raw = [raw]
    else throw invalid(`input "${name}": "data" must be an array`)
  }
  let data = raw as unknown[]
  if (data.length > 0 && Array.isArray(data[0])) data = flatten(data, name)
  else if (data.length !== count) data = flatten(data, name) // e.g. [1, [2, 3]]: irregular, but flatten before judging
  if (data.length !== count) {
    throw invalid(`input "${name}": data has ${data.length} elements but shape [${shape.join(",")}] needs ${count}`)
  }
  const bad = (k: number, why: string): never => {
    throw invalid(`input "${name}": element ${k} (${preview(data[k])}) ${why}`)
  }
  switch (dt) {
    case "FP32":
    case "FP64": {
      const out = dt === "FP32" ? new Float32Array(count) : new Float64Array(count)
      for (let k = 0; k < count; k++) {
        const v = data[k]
        if (typeof v === "number") out[k] = v
        else if (typeof v === "bigint") out[k] = Number(v)
        // null is NaN, as responses write it (JSON has no NaN): a missing value for tree models
        else if (v === null) out[k] = NaN
        else bad(k, `is not a number (datatype ${dt})`)
      }
      return out
    }
    case "BOOL": {
      const out = new Uint8Array(count)
      for (let k = 0; k < count; k++) {
        const v = data[k]
        if (typeof v === "boolean") out[k] = v ? 1 : 0
        else bad(k, "is not true or false (datatype BOOL)")
      }
      return out
    }
    case "BYTES": {
      const out = new Array<string>(count)
      for (let k = 0; k < count; k++) {
        const v = data[k]
        if (typeof v === "string") out[k] = v
        else bad(k, "is not a string (datatype BYTES)")
      }
      return out
    }
    case "INT64":
    case "UINT64": {
      const out = dt === "INT64" ? new BigInt64Array(count) : new BigUint64Array(count)
      const lo = dt === "INT64" ? I64_MIN : 0n
      const hi = dt === "INT64" ? I64_MAX : U64_MAX
      for (let k = 0; k < count; k++) {
        const v = data[k]
        let b: bigint
        if (typeof v === "bigint") b = v
        else if (typeof v === "number" && Number.isInteger(v)) b = BigInt(v)
        else return bad(k, `is not an integer (datatype ${dt})`)
        if (b < lo || b > hi) bad(k, `is out of range for ${dt}`)
        out[k] = b
      }
      return out
    }
    default: {
      const [lo, hi] = INT_RANGE[dt]!
      const out = allocate(dt, count) as Exclude<TensorData, string[] | BigInt64Array | BigUint64Array>
      for (let k = 0; k < count; k++) {
        const v = data[k]
        if (typeof v !== "number" || !Number.isInteger(v)) bad(k, `is not an integer (datatype ${dt})`)
        else if (v < lo || v > hi) bad(k, `is out of range for ${dt}`)
        else out[k] = v
      }
      return out
    }
  }
}
