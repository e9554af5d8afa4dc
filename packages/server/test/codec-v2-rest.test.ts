import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { InvalidRequest } from "../src/transport/kserve-v2/errors.js"
import { numberToHalf, halfToNumber, tensorBytes } from "../src/transport/kserve-v2/tensor-bytes.js"
import { decodeInferRequest } from "../src/transport/kserve-v2/rest-decode.js"
import { binaryOutputsOf, encodeInferResponse } from "../src/transport/kserve-v2/rest-encode.js"
import type { Datatype, Tensor, TensorMeta } from "../src/runtimes/runtime.js"
import { datatypes, metaFor, samples, shape } from "./tensor-samples.js"


/** JSON for 64-bit integers written as the exact decimal literal (JSON.stringify cannot). */
const jsonBody = (req: unknown): Buffer =>
  Buffer.from(JSON.stringify(req, (_, v) => (typeof v === "bigint" ? `@@${v}@@` : v)).replace(/"@@(-?\d+)@@"/g, "$1"))

const binaryBody = (header: unknown, parts: Uint8Array[]) => {
  const h = jsonBody(header)
  return { body: Buffer.concat([h, ...parts]), headerLength: h.length }
}

const bitsOf = (data: Tensor["data"]) => (Array.isArray(data) ? data : Array.from(tensorBytes(data)))

/** Parse a binary response: the JSON header and each output's bytes, in order. */
const splitBinary = (body: Buffer, headerLength: number) => {
  const header = JSON.parse(body.toString("utf8", 0, headerLength)) as {
    outputs: { name: string; datatype: string; shape: number[]; data?: unknown[]; parameters?: { binary_data_size: number } }[]
  }
  let at = headerLength
  const bytes: Record<string, Buffer> = {}
  for (const o of header.outputs) {
    if (o.parameters?.binary_data_size !== undefined) {
      bytes[o.name] = body.subarray(at, at + o.parameters.binary_data_size)
      at += o.parameters.binary_data_size
    }
  }
  expect(at).toBe(body.length)
  return { header, bytes }
}

const invalid = (f: () => unknown, message: RegExp) => {
  let err: unknown
  try {
    f()
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(InvalidRequest)
  expect((err as InvalidRequest)._tag).toBe("InvalidRequest")
  expect((err as InvalidRequest).message).toMatch(message)
}

describe("KServe v2 REST codec: every datatype round trips", () => {
  it.each(datatypes.filter((d) => d !== "FP16"))("%s as JSON: request decodes, response encodes the same values", (datatype) => {
    const data = samples[datatype]
    const values = Array.isArray(data) ? data : datatype === "BOOL" ? Array.from(data as Uint8Array, (v) => v === 1) : Array.from(data as Int32Array)
    const req = decodeInferRequest(jsonBody({ inputs: [{ name: "x", datatype, shape, data: values }] }), undefined, metaFor(datatype))
    const t = req.inputs[0]!
    expect(t).toMatchObject({ name: "x", datatype, shape })
    expect(t.data.constructor).toBe(data.constructor)
    expect(bitsOf(t.data)).toEqual(bitsOf(data))

    const res = encodeInferResponse("m", "1", "req-1", [{ name: "y", datatype, shape, data }], false)
    expect(res.contentType).toBe("application/json")
    expect(res.headerLength).toBeUndefined()
    // Decode the response text with the request decoder (it shares the JSON rules), so 64-bit values are checked exactly.
    const echoed = JSON.parse(res.body.toString("utf8").replace(/"data":\[[^\]]*\]/, '"data":[]')) as Record<string, unknown>
    expect(echoed).toEqual({ model_name: "m", model_version: "1", id: "req-1", outputs: [{ name: "y", datatype, shape, data: [] }] })
    const back = decodeInferRequest(
      Buffer.from(res.body.toString("utf8").replace('"outputs"', '"inputs"').replace('"name":"y"', '"name":"x"')),
      undefined,
      metaFor(datatype)
    )
    expect(bitsOf(back.inputs[0]!.data)).toEqual(bitsOf(data))
  })

  it.each(datatypes)("%s with the binary extension, in and out", (datatype) => {
    const data = samples[datatype]
    const raw = tensorBytes(data)
    const { body, headerLength } = binaryBody(
      {
        id: "b",
        inputs: [{ name: "x", datatype, shape, parameters: { binary_data_size: raw.byteLength } }],
        outputs: [{ name: "y", parameters: { binary_data: true } }]
      },
      [raw]
    )
    const req = decodeInferRequest(body, headerLength, metaFor(datatype))
    expect(req.id).toBe("b")
    expect(req.outputs).toEqual([{ name: "y", binary: true }])
    expect(bitsOf(req.inputs[0]!.data)).toEqual(bitsOf(data))

    const res = encodeInferResponse("m", undefined, "b", [{ name: "y", datatype, shape, data: req.inputs[0]!.data }], binaryOutputsOf(req))
    expect(res.contentType).toBe("application/octet-stream")
    const { header, bytes } = splitBinary(res.body, res.headerLength!)
    expect(header.outputs[0]).toEqual({ name: "y", datatype, shape, parameters: { binary_data_size: raw.byteLength } })
    expect(Array.from(bytes.y!)).toEqual(Array.from(raw))
  })

  it("decoded binary tensors own aligned memory even when the data sits at an odd offset", () => {
    const f = new Float32Array([1.5, -2.25, 3, 4])
    const { body, headerLength } = binaryBody({ inputs: [{ name: "x", datatype: "FP32", shape, parameters: { binary_data_size: 16 } }] }, [tensorBytes(f)])
    expect(headerLength % 4).not.toBe(0)
    const t = decodeInferRequest(body, headerLength, metaFor("FP32")).inputs[0]!
    expect(t.data).toBeInstanceOf(Float32Array)
    expect(Array.from(t.data as Float32Array)).toEqual([1.5, -2.25, 3, 4])
    body.fill(0)
    expect(Array.from(t.data as Float32Array)).toEqual([1.5, -2.25, 3, 4])
  })

  it("64-bit integers beyond 2^53 stay exact through JSON both ways", () => {
    const big = 9007199254740993n // 2^53 + 1: JSON.parse would round it
    const body = Buffer.from(`{"inputs":[{"name":"x","datatype":"INT64","shape":[2],"data":[${big},-${big}]}]}`)
    const t = decodeInferRequest(body, undefined, [{ name: "x", datatype: "INT64", shape: [-1] }]).inputs[0]!
    expect(Array.from(t.data as BigInt64Array)).toEqual([big, -big])
    const res = encodeInferResponse("m", undefined, undefined, [{ name: "y", datatype: "UINT64", shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) }], false)
    expect(res.body.toString()).toContain(`"data":[18446744073709551615]`)
  })

  it("FP16 is accepted only in binary and returned in JSON as the numbers its bits denote", () => {
    invalid(
      () => decodeInferRequest(jsonBody({ inputs: [{ name: "x", datatype: "FP16", shape: [1], data: [1] }] }), undefined, metaFor("FP16")),
      /input "x": FP16 data cannot be sent as JSON; use the binary tensor data extension/
    )
    const res = encodeInferResponse("m", undefined, undefined, [{ name: "y", datatype: "FP16", shape: [4], data: new Uint16Array([0x3c00, 0xc000, 0x3555, 0x7c00]) }], false)
    const out = JSON.parse(res.body.toString()).outputs[0]
    expect(out.data).toEqual([1, -2, 0.333251953125, null])
  })

  it("half-float conversion rounds to nearest even and round trips every finite half", () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = halfToNumber(h)
      if (Number.isFinite(v)) expect(numberToHalf(v) === h || (v === 0 && (h & 0x7fff) === 0)).toBe(true)
    }
    expect(numberToHalf(1 + 2 ** -11)).toBe(0x3c00) // tie → even
    expect(numberToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02)
    expect(numberToHalf(65520)).toBe(0x7c00) // overflow → Infinity
  })

  it("FP32 JSON output reads back to the same float bits (any finite float)", () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 64 }), (xs) => {
        const data = Float32Array.from(xs)
        const res = encodeInferResponse("m", undefined, undefined, [{ name: "x", datatype: "FP32", shape: [data.length], data }], false)
        const req = decodeInferRequest(
          Buffer.from(res.body.toString().replace('"outputs"', '"inputs"')),
          undefined,
          [{ name: "x", datatype: "FP32", shape: [-1] }]
        )
        expect(Array.from(tensorBytes(req.inputs[0]!.data))).toEqual(Array.from(tensorBytes(data)))
      })
    )
  })

  it("non-finite floats are written as null in JSON (valid JSON), exactly in binary", () => {
    const data = new Float32Array([NaN, Infinity, -Infinity, 1])
    const json = encodeInferResponse("m", undefined, undefined, [{ name: "y", datatype: "FP32", shape: [4], data }], false)
    expect(JSON.parse(json.body.toString()).outputs[0].data).toEqual([null, null, null, 1])
    const bin = encodeInferResponse("m", undefined, undefined, [{ name: "y", datatype: "FP32", shape: [4], data }], true)
    const { bytes } = splitBinary(bin.body, bin.headerLength!)
    expect(Array.from(new Float32Array(new Uint8Array(bytes.y!).buffer))).toEqual([NaN, Infinity, -Infinity, 1])
  })
})

describe("KServe v2 REST codec: request forms", () => {
  const meta: TensorMeta[] = [{ name: "x", datatype: "FP32", shape: [-1, 3] }]

  it("nested and flat data give the same row-major tensor", () => {
    const flat = decodeInferRequest(jsonBody({ inputs: [{ name: "x", datatype: "FP32", shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }] }), undefined, meta)
    const nested = decodeInferRequest(
      jsonBody({ inputs: [{ name: "x", datatype: "FP32", shape: [2, 3], data: [[1, 2, 3], [4, 5, 6]] }] }),
      undefined,
      meta
    )
    const deep = decodeInferRequest(
      jsonBody({ inputs: [{ name: "x", datatype: "FP32", shape: [2, 3], data: [[[1], [2], [3]], [[4], [5], [6]]] }] }),
      undefined,
      meta
    )
    expect(Array.from(flat.inputs[0]!.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6])
    expect(nested.inputs[0]!.data).toEqual(flat.inputs[0]!.data)
    expect(deep.inputs[0]!.data).toEqual(flat.inputs[0]!.data)
  })

  it("carries id, parameters and requested outputs; binary_data_output asks for every output in binary", () => {
    const req = decodeInferRequest(
      jsonBody({
        id: "42",
        parameters: { binary_data_output: true, priority: 3 },
        inputs: [{ name: "x", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] }],
        outputs: [{ name: "a" }, { name: "b", parameters: { binary_data: false } }]
      }),
      undefined,
      meta
    )
    expect(req.id).toBe("42")
    expect(req.parameters).toEqual({ binary_data_output: true, priority: 3 })
    expect(req.outputs).toEqual([
      { name: "a", binary: false },
      { name: "b", binary: false }
    ])
    expect(binaryOutputsOf(req)).toBe(true)
  })

  it("mixes JSON and binary outputs in one response, binary ones after the header in order", () => {
    const a = new Float32Array([1, 2])
    const b = new Int32Array([7])
    const c = new Float32Array([0.5])
    const res = encodeInferResponse(
      "m",
      "2",
      undefined,
      [
        { name: "a", datatype: "FP32", shape: [2], data: a },
        { name: "b", datatype: "INT32", shape: [1], data: b },
        { name: "c", datatype: "FP32", shape: [1], data: c }
      ],
      new Set(["a", "c"])
    )
    const { header, bytes } = splitBinary(res.body, res.headerLength!)
    expect(header.outputs.map((o) => o.data ?? o.parameters)).toEqual([{ binary_data_size: 8 }, [7], { binary_data_size: 4 }])
    expect(Array.from(bytes.a!)).toEqual(Array.from(tensorBytes(a)))
    expect(Array.from(bytes.c!)).toEqual(Array.from(tensorBytes(c)))
  })

  it("accepts a binary input next to a JSON one", () => {
    const meta2: TensorMeta[] = [...meta, { name: "k", datatype: "INT64", shape: [1] }]
    const f = new Float32Array([1, 2, 3])
    const { body, headerLength } = binaryBody(
      {
        inputs: [
          { name: "k", datatype: "INT64", shape: [1], data: [5] },
          { name: "x", datatype: "FP32", shape: [1, 3], parameters: { binary_data_size: 12 } }
        ]
      },
      [tensorBytes(f)]
    )
    const req = decodeInferRequest(body, headerLength, meta2)
    expect(Array.from(req.inputs[0]!.data as BigInt64Array)).toEqual([5n])
    expect(Array.from(req.inputs[1]!.data as Float32Array)).toEqual([1, 2, 3])
  })
})

describe("KServe v2 REST codec: each bad request is an InvalidRequest naming the problem", () => {
  const meta: TensorMeta[] = [{ name: "x", datatype: "FP32", shape: [-1, 2] }]
  const req = (input: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    jsonBody({ inputs: [{ name: "x", datatype: "FP32", shape: [1, 2], data: [1, 2], ...input }], ...extra })
  const cases: [string, () => unknown, RegExp][] = [
    ["malformed JSON", () => decodeInferRequest(Buffer.from('{"inputs": ['), undefined, meta), /malformed JSON/],
    ["not an object", () => decodeInferRequest(Buffer.from("[1]"), undefined, meta), /must be a JSON object/],
    ["missing inputs", () => decodeInferRequest(Buffer.from("{}"), undefined, meta), /missing field "inputs"/],
    ["empty inputs", () => decodeInferRequest(Buffer.from('{"inputs":[]}'), undefined, meta), /"inputs" must be a non-empty array/],
    ["missing name", () => decodeInferRequest(req({ name: undefined }), undefined, meta), /inputs\[0\]: missing field "name"/],
    ["missing datatype", () => decodeInferRequest(req({ datatype: undefined }), undefined, meta), /input "x": missing field "datatype"/],
    ["unknown datatype", () => decodeInferRequest(req({ datatype: "FLOAT" }), undefined, meta), /unknown datatype "FLOAT"/],
    ["missing shape", () => decodeInferRequest(req({ shape: undefined }), undefined, meta), /input "x": missing field "shape"/],
    ["bad shape", () => decodeInferRequest(req({ shape: [1, -2] }), undefined, meta), /"shape" must be an array of non-negative integers/],
    ["missing data", () => decodeInferRequest(req({ data: undefined }), undefined, meta), /input "x": missing field "data"/],
    ["unknown input name", () => decodeInferRequest(req({ name: "y" }), undefined, meta), /unknown input "y" \(the model's inputs: x\)/],
    ["datatype ≠ model", () => decodeInferRequest(req({ datatype: "FP64" }), undefined, meta), /datatype FP64 does not match the model's FP32/],
    ["data length ≠ shape", () => decodeInferRequest(req({ data: [1, 2, 3] }), undefined, meta), /data has 3 elements but shape \[1,2\] needs 2/],
    ["element of the wrong type", () => decodeInferRequest(req({ data: [1, "2"] }), undefined, meta), /element 1 \("2"\) is not a number/],
    [
      "integer out of range",
      () => decodeInferRequest(req({ datatype: "UINT8", data: [1, 256] }), undefined, [{ name: "x", datatype: "UINT8", shape: [1, 2] }]),
      /element 1 \(256\) is out of range for UINT8/
    ],
    [
      "non-integer for an integer type",
      () => decodeInferRequest(req({ datatype: "INT32", data: [1, 2.5] }), undefined, [{ name: "x", datatype: "INT32", shape: [1, 2] }]),
      /element 1 \(2.5\) is not an integer/
    ],
    ["duplicate input", () => decodeInferRequest(jsonBody({ inputs: [{ name: "x", datatype: "FP32", shape: [1, 2], data: [1, 2] }, { name: "x", datatype: "FP32", shape: [1, 2], data: [1, 2] }] }), undefined, meta), /input "x" appears twice/],
    ["output without name", () => decodeInferRequest(req({}, { outputs: [{}] }), undefined, meta), /outputs\[0\]: missing field "name"/],
    ["non-boolean binary_data", () => decodeInferRequest(req({}, { outputs: [{ name: "y", parameters: { binary_data: "yes" } }] }), undefined, meta), /binary_data must be true or false/],
    [
      "binary size ≠ shape × datatype",
      () => {
        const { body, headerLength } = binaryBody({ inputs: [{ name: "x", datatype: "FP32", shape: [1, 2], parameters: { binary_data_size: 4 } }] }, [new Uint8Array(4)])
        return decodeInferRequest(body, headerLength, meta)
      },
      /binary_data_size is 4 bytes but shape and datatype FP32 need 8/
    ],
    [
      "binary size beyond the body",
      () => {
        const { body, headerLength } = binaryBody({ inputs: [{ name: "x", datatype: "FP32", shape: [1, 2], parameters: { binary_data_size: 8 } }] }, [new Uint8Array(4)])
        return decodeInferRequest(body, headerLength, meta)
      },
      /binary_data_size 8 exceeds the 4 bytes of binary data left/
    ],
    [
      "extra binary bytes",
      () => {
        const { body, headerLength } = binaryBody({ inputs: [{ name: "x", datatype: "FP32", shape: [1, 2], parameters: { binary_data_size: 8 } }] }, [new Uint8Array(12)])
        return decodeInferRequest(body, headerLength, meta)
      },
      /the body has 12 bytes after the JSON header but the inputs declare 8/
    ],
    [
      "binary_data_size without the header-length header",
      () => decodeInferRequest(jsonBody({ inputs: [{ name: "x", datatype: "FP32", shape: [1, 2], parameters: { binary_data_size: 8 } }] }), undefined, meta),
      /needs the Inference-Header-Content-Length header/
    ],
    ["header length beyond the body", () => decodeInferRequest(req({}), 10_000, meta), /Inference-Header-Content-Length 10000 is not between 0 and the body length/],
    [
      "both data and binary_data_size",
      () => {
        const { body, headerLength } = binaryBody({ inputs: [{ name: "x", datatype: "FP32", shape: [1, 2], data: [1, 2], parameters: { binary_data_size: 8 } }] }, [new Uint8Array(8)])
        return decodeInferRequest(body, headerLength, meta)
      },
      /has both "data" and parameters.binary_data_size/
    ],
    [
      "truncated BYTES element",
      () => {
        const raw = Buffer.from([5, 0, 0, 0, 104, 105])
        const { body, headerLength } = binaryBody({ inputs: [{ name: "x", datatype: "BYTES", shape: [1], parameters: { binary_data_size: raw.length } }] }, [raw])
        return decodeInferRequest(body, headerLength, [{ name: "x", datatype: "BYTES", shape: [1] }])
      },
      /BYTES element 0 declares 5 bytes but only 2 remain/
    ]
  ]
  it.each(cases)("%s", (_, f, message) => invalid(f, message))
})
