/** Tensors as the server carries them between the codecs and the runtimes (KServe v2 terms). */

/** KServe v2 tensor datatypes. */
export type Datatype =
  | "BOOL"
  | "UINT8"
  | "UINT16"
  | "UINT32"
  | "UINT64"
  | "INT8"
  | "INT16"
  | "INT32"
  | "INT64"
  | "FP16"
  | "FP32"
  | "FP64"
  | "BYTES"

export const DATATYPES: ReadonlyArray<Datatype> = [
  "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"
]

export const isDatatype = (s: unknown): s is Datatype => typeof s === "string" && (DATATYPES as ReadonlyArray<string>).includes(s)

/** Name, datatype and shape of a model input or output; -1 marks a variable dimension. */
export interface TensorMeta {
  readonly name: string
  readonly datatype: Datatype
  readonly shape: ReadonlyArray<number>
}

export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[]

/**
 * A tensor in row-major order. BOOL is carried as Uint8Array (0/1); FP16 as Uint16Array holding
 * the raw IEEE half bits (JavaScript has no half-float array on Node 20).
 */
export interface Tensor {
  readonly name: string
  readonly datatype: Datatype
  readonly shape: ReadonlyArray<number>
  readonly data: TensorData
}

/** Element count of a shape (product of dimensions; 1 for a scalar). */
export const shapeSize = (shape: ReadonlyArray<number>): number => {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/** Bytes per element for fixed-size datatypes; undefined for BYTES. */
export const bytesPerElement = (dt: Datatype): number | undefined => {
  switch (dt) {
    case "BOOL":
    case "UINT8":
    case "INT8":
      return 1
    case "UINT16":
    case "INT16":
    case "FP16":
      return 2
    case "UINT32":
    case "INT32":
    case "FP32":
      return 4
    case "UINT64":
    case "INT64":
    case "FP64":
      return 8
    case "BYTES":
      return undefined
  }
}
