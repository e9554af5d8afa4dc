import protobuf from "protobufjs"
import { fileURLToPath } from "node:url"

/**
 * Serialise ONNX models with protobufjs and meshkit's own onnx.proto subset
 * (packages/onnx-models/proto/onnx-subset.proto), so models can be made without Python or onnx.
 */

const PROTO_PATH = fileURLToPath(new URL("../proto/onnx-subset.proto", import.meta.url))

let modelType: protobuf.Type | undefined
const ModelProto = (): protobuf.Type => (modelType ??= new protobuf.Root().loadSync(PROTO_PATH, { keepCase: true }).lookupType("onnx.ModelProto"))

export const ONNX_FLOAT = 1

export interface OnnxInitializer {
  readonly name: string
  readonly dims: ReadonlyArray<number>
  readonly data: Float32Array
}

export interface OnnxNode {
  readonly op: string
  readonly inputs: ReadonlyArray<string>
  readonly outputs: ReadonlyArray<string>
}

/** A dimension: a size, or a name for a variable one (ONNX dim_param, -1 in KServe metadata). */
export type OnnxDim = number | string

export interface OnnxGraph {
  readonly name: string
  readonly inputs: ReadonlyArray<{ name: string; dims: ReadonlyArray<OnnxDim> }>
  readonly outputs: ReadonlyArray<{ name: string; dims: ReadonlyArray<OnnxDim> }>
  readonly nodes: ReadonlyArray<OnnxNode>
  readonly initializers: ReadonlyArray<OnnxInitializer>
}

const floatValueInfo = (v: { name: string; dims: ReadonlyArray<OnnxDim> }) => ({
  name: v.name,
  type: {
    tensor_type: {
      elem_type: ONNX_FLOAT,
      shape: { dim: v.dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) }
    }
  }
})

/** ONNX IR 8 / opset 17: both well inside what onnxruntime 1.x reads. */
export const encodeOnnxModel = (g: OnnxGraph): Uint8Array => {
  const T = ModelProto()
  const msg = T.fromObject({
    ir_version: 8,
    producer_name: "meshkit",
    producer_version: "0.1.0",
    opset_import: [{ domain: "", version: 17 }],
    graph: {
      name: g.name,
      node: g.nodes.map((n, i) => ({ input: n.inputs, output: n.outputs, name: `${n.op.toLowerCase()}_${i}`, op_type: n.op })),
      initializer: g.initializers.map((t) => ({
        name: t.name,
        dims: t.dims,
        data_type: ONNX_FLOAT,
        raw_data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
      })),
      input: g.inputs.map(floatValueInfo),
      output: g.outputs.map(floatValueInfo)
    }
  })
  return T.encode(msg).finish()
}

/**
 * Where each initializer's raw_data bytes sit in an encoded model, in graph order
 * (ModelProto.graph = 7 → GraphProto.initializer = 5 → TensorProto.raw_data = 9).
 */
export const rawDataRanges = (bytes: Uint8Array): { offset: number; length: number }[] => {
  const r = protobuf.Reader.create(bytes)
  const out: { offset: number; length: number }[] = []
  const fields = (end: number, on: (field: number, start: number, end: number) => boolean) => {
    while (r.pos < end) {
      const tag = r.uint32()
      if ((tag & 7) === 2) {
        const len = r.uint32()
        const start = r.pos
        if (!on(tag >>> 3, start, start + len)) r.pos = start + len
      } else r.skipType(tag & 7)
    }
  }
  fields(bytes.length, (f, start, end) => {
    if (f !== 7) return false
    fields(end, (g, s, e) => {
      if (g !== 5) return false
      fields(e, (t, ts, te) => {
        if (t === 9) out.push({ offset: ts, length: te - ts })
        return false
      })
      return true
    })
    return true
  })
  return out
}
