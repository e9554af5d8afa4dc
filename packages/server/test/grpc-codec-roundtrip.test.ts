import * as grpc from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { InvalidRequest } from "../src/transport/kserve-v2/errors.js"
import { decodeModelInferRequest, encodeModelInferResponse, contentsField, type GrpcModelInferRequest, type GrpcModelInferResponse } from "../src/transport/kserve-v2/grpc-codec.js"
import { grpcChannelOptions, loadGrpcDefinition } from "../src/transport/kserve-v2/grpc-definition.js"
import { tensorBytes } from "../src/transport/kserve-v2/tensor-bytes.js"
import type { Datatype, Tensor, TensorMeta } from "../src/runtimes/runtime.js"
import { datatypes, metaFor, samples, shape } from "./tensor-samples.js"

const bitsOf = (data: Tensor["data"]) => (Array.isArray(data) ? data : Array.from(tensorBytes(data)))

const { GRPCInferenceService } = loadGrpcDefinition()
const infer = GRPCInferenceService.service.ModelInfer!
/** Through the real protobuf wire format, with the loader options the server uses. */
const overTheWire = (req: GrpcModelInferRequest): GrpcModelInferRequest =>
  infer.requestDeserialize(infer.requestSerialize(req)) as GrpcModelInferRequest
const responseOverTheWire = (res: GrpcModelInferResponse): GrpcModelInferResponse =>
  infer.responseDeserialize(infer.responseSerialize(res)) as GrpcModelInferResponse

/** Typed contents a client would send for a tensor (the inverse of what the codec decodes). */
const typedContents = (datatype: Datatype, data: Tensor["data"]) => {
  const field = contentsField(datatype)!
  if (datatype === "BYTES") return { [field]: (data as string[]).map((s) => Buffer.from(s)) }
  if (datatype === "BOOL") return { [field]: Array.from(data as Uint8Array, (v) => v === 1) }
  if (datatype === "INT64" || datatype === "UINT64") return { [field]: Array.from(data as BigInt64Array, String) }
  return { [field]: Array.from(data as Int32Array) }
}

describe("gRPC codec: typed contents round trip", () => {
  it.each(datatypes.filter((d) => d !== "FP16"))("%s", (datatype) => {
    const data = samples[datatype]
    const wire = overTheWire({
      model_name: "m",
      id: "t1",
      inputs: [{ name: "x", datatype, shape, contents: typedContents(datatype, data) }],
      outputs: [{ name: "y" }]
    })
    const req = decodeModelInferRequest(wire, metaFor(datatype))
    expect(req.id).toBe("t1")
    expect(req.binaryOutput).toBe(false)
    expect(req.outputs).toEqual([{ name: "y", binary: false }])
    expect(req.inputs[0]).toMatchObject({ name: "x", datatype, shape })
    expect(req.inputs[0]!.data.constructor).toBe(data.constructor)
    expect(bitsOf(req.inputs[0]!.data)).toEqual(bitsOf(data))

    const res = responseOverTheWire(encodeModelInferResponse("m", "1", "t1", [{ name: "y", datatype, shape, data }], req.binaryOutput))
    expect(res).toMatchObject({ model_name: "m", model_version: "1", id: "t1", raw_output_contents: [] })
    const out = res.outputs[0]!
    expect(out).toMatchObject({ name: "y", datatype, shape: ["2", "2"] })
    // The response's typed contents decode back to the same tensor.
    const again = decodeModelInferRequest(
      { inputs: [{ name: "x", datatype, shape: out.shape, contents: out.contents }] },
      metaFor(datatype)
    )
    expect(bitsOf(again.inputs[0]!.data)).toEqual(bitsOf(data))
  })
})

describe("gRPC codec: raw contents round trip", () => {
  it.each(datatypes)("%s", (datatype) => {
    const data = samples[datatype]
    const wire = overTheWire({
      inputs: [
        // A 1-byte BOOL input first: the FP32/FP64 bytes after it land at odd offsets of the receive buffer.
        { name: "flag", datatype: "BOOL", shape: [1] },
        { name: "x", datatype, shape }
      ],
      raw_input_contents: [new Uint8Array([1]), tensorBytes(data)]
    })
    const req = decodeModelInferRequest(wire, [{ name: "flag", datatype: "BOOL", shape: [1] }, ...metaFor(datatype)])
    expect(req.binaryOutput).toBe(true)
    expect(Array.from(req.inputs[0]!.data as Uint8Array)).toEqual([1])
    expect(bitsOf(req.inputs[1]!.data)).toEqual(bitsOf(data))

    const res = responseOverTheWire(encodeModelInferResponse("m", undefined, undefined, [{ name: "y", datatype, shape, data }], true))
    expect(res.outputs[0]).toMatchObject({ name: "y", datatype })
    expect(res.outputs[0]!.contents ?? undefined).toBeUndefined()
    expect(Array.from(res.raw_output_contents[0]!)).toEqual(Array.from(tensorBytes(data)))
  })

  it("an FP16 output forces raw contents for the whole response, even for a typed request", () => {
    const res = encodeModelInferResponse(
      "m",
      undefined,
      undefined,
      [
        { name: "a", datatype: "FP32", shape: [1], data: new Float32Array([1]) },
        { name: "h", datatype: "FP16", shape: [1], data: new Uint16Array([0x3c00]) }
      ],
      false
    )
    expect(res.outputs.every((o) => o.contents === undefined)).toBe(true)
    expect(res.raw_output_contents.map((b) => Array.from(b))).toEqual([Array.from(tensorBytes(new Float32Array([1]))), [0x00, 0x3c]])
  })
})

describe("gRPC codec: bad requests are InvalidRequest naming the problem", () => {
  const meta: TensorMeta[] = [{ name: "x", datatype: "FP32", shape: [-1, 2] }]
  const cases: [string, GrpcModelInferRequest, RegExp, TensorMeta[]?][] = [
    ["no inputs", { inputs: [] }, /missing field "inputs"/],
    ["unknown input", { inputs: [{ name: "z", datatype: "FP32", shape: [1, 2], contents: { fp32_contents: [1, 2] } }] }, /unknown input "z"/],
    ["datatype ≠ model", { inputs: [{ name: "x", datatype: "FP64", shape: [1, 2], contents: { fp64_contents: [1, 2] } }] }, /datatype FP64 does not match the model's FP32/],
    ["unknown datatype", { inputs: [{ name: "x", datatype: "float", shape: [1, 2] }] }, /unknown datatype "float"/],
    ["element count ≠ shape", { inputs: [{ name: "x", datatype: "FP32", shape: [1, 2], contents: { fp32_contents: [1] } }] }, /contents.fp32_contents has 1 elements but the shape needs 2/],
    [
      "wrong contents field",
      { inputs: [{ name: "x", datatype: "FP32", shape: [1, 2], contents: { fp32_contents: [1, 2], int_contents: [3] } }] },
      /datatype FP32 takes contents.fp32_contents, but contents.int_contents is set/
    ],
    [
      "FP16 as typed contents",
      { inputs: [{ name: "x", datatype: "FP16", shape: [1], contents: {} }] },
      /FP16 has no typed contents field; send it in raw_input_contents/,
      [{ name: "x", datatype: "FP16", shape: [1] }]
    ],
    [
      "INT8 value that would wrap",
      { inputs: [{ name: "x", datatype: "INT8", shape: [1], contents: { int_contents: [200] } }] },
      /element 0 \(200\) is out of range for INT8/,
      [{ name: "x", datatype: "INT8", shape: [1] }]
    ],
    [
      "raw entries ≠ inputs",
      { inputs: [{ name: "x", datatype: "FP32", shape: [1, 2] }], raw_input_contents: [new Uint8Array(8), new Uint8Array(8)] },
      /raw_input_contents has 2 entries but the request has 1 inputs/
    ],
    ["raw size ≠ shape", { inputs: [{ name: "x", datatype: "FP32", shape: [1, 2] }], raw_input_contents: [new Uint8Array(6)] }, /raw contents are 6 bytes but shape and datatype FP32 need 8/],
    [
      "raw and typed contents together",
      { inputs: [{ name: "x", datatype: "FP32", shape: [1, 2], contents: { fp32_contents: [1, 2] } }], raw_input_contents: [new Uint8Array(8)] },
      /contents must be empty when raw_input_contents is used/
    ]
  ]
  it.each(cases)("%s", (_, req, message, m) => {
    let err: unknown
    try {
      decodeModelInferRequest(overTheWire(req), m ?? meta)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(InvalidRequest)
    expect((err as InvalidRequest).message).toMatch(message)
  })
})

describe("gRPC definition with @grpc/grpc-js", () => {
  let server: grpc.Server
  let client: grpc.Client & Record<string, Function>
  const meta: TensorMeta[] = [{ name: "x", datatype: "FP32", shape: [-1, 4] }]

  beforeAll(async () => {
    server = new grpc.Server(grpcChannelOptions)
    // A doubling "model": decode → compute → encode, as the server's handler does.
    server.addService(GRPCInferenceService.service, {
      ServerLive: (_: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { live: true }),
      ModelInfer: (call: grpc.ServerUnaryCall<GrpcModelInferRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        try {
          const req = decodeModelInferRequest(call.request, meta)
          const x = req.inputs[0]!.data as Float32Array
          const y = x.map((v) => v * 2)
          cb(null, encodeModelInferResponse(call.request.model_name ?? "", undefined, req.id, [{ name: "y", datatype: "FP32", shape: req.inputs[0]!.shape, data: y }], req.binaryOutput))
        } catch (e) {
          cb({ code: e instanceof InvalidRequest ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL, details: (e as Error).message })
        }
      }
    })
    const port = await new Promise<number>((ok, fail) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p)))
    )
    client = new GRPCInferenceService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), grpcChannelOptions) as never
  })
  afterAll(() => {
    client?.close()
    server?.forceShutdown()
  })

  const call = <T>(method: string, req: unknown) =>
    new Promise<T>((ok, fail) => client[method]!(req, (e: Error | null, r: T) => (e ? fail(e) : ok(r))))

  it("serves ServerLive and ModelInfer with typed and raw contents over a real socket", async () => {
    expect(await call("ServerLive", {})).toEqual({ live: true })
    const typed = await call<GrpcModelInferResponse>("ModelInfer", {
      model_name: "double",
      id: "a",
      inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4.5] } }]
    })
    expect(typed).toMatchObject({ model_name: "double", id: "a", outputs: [{ name: "y", datatype: "FP32", shape: ["1", "4"], contents: { fp32_contents: [2, 4, 6, 9] } }] })
    const raw = await call<GrpcModelInferResponse>("ModelInfer", {
      model_name: "double",
      inputs: [{ name: "x", datatype: "FP32", shape: [1, 4] }],
      raw_input_contents: [tensorBytes(new Float32Array([1, 2, 3, 4.5]))]
    })
    expect(Array.from(new Float32Array(new Uint8Array(raw.raw_output_contents[0]!).buffer))).toEqual([2, 4, 6, 9])
  })

  it("a 16 MiB raw tensor passes the raised message limits", async () => {
    const x = new Float32Array(4 << 20).fill(1.5)
    const raw = await call<GrpcModelInferResponse>("ModelInfer", {
      inputs: [{ name: "x", datatype: "FP32", shape: [1 << 20, 4] }],
      raw_input_contents: [tensorBytes(x)]
    })
    expect(raw.raw_output_contents[0]!.byteLength).toBe(16 << 20)
  })

  it("a bad request comes back as INVALID_ARGUMENT with the codec's message", async () => {
    const e = await call("ModelInfer", { inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], contents: { fp32_contents: [1] } }] }).catch((x: grpc.ServiceError) => x)
    expect((e as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT)
    expect((e as grpc.ServiceError).details).toMatch(/fp32_contents has 1 elements but the shape needs 4/)
  })
})
