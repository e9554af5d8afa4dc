import { request } from "node:http"
import * as zlib from "node:zlib"
import { describe, expect, it } from "vitest"
import { inferBody, withServer } from "./server-harness.js"

/**
 * HTTP compression as Triton's HTTP client uses it: `request_compression_algorithm="gzip"` or
 * `"deflate"` sends the body compressed with Content-Encoding (the binary tensor extension's
 * Inference-Header-Content-Length still counts the uncompressed JSON header), and
 * `response_compression_algorithm` sends Accept-Encoding. Requests go through node:http so
 * the test controls every header (fetch would add Accept-Encoding and inflate by itself).
 */
const fixture = withServer("http-compression", {
  models: { alpha: [128 * 1024, 1] },
  args: (dir) => ["--models", dir, "--memory", "64MiB", "--data-dir", `${dir}/data`, "--max-body-size", "1MiB", "--log-level", "warn"],
  ready: async ({ server }) => {
    const r = await post(server.url, "/v2/repository/models/alpha/load", Buffer.alloc(0), {})
    expect(r.status).toBe(200)
  }
})

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** the body as sent on the wire */
  raw: Buffer
}

const post = (base: string, path: string, body: Buffer, headers: Record<string, string | number>): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method: "POST", headers: { "content-length": body.length, ...headers } }, (res) => {
      const chunks: Buffer[] = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, raw: Buffer.concat(chunks) }))
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end(body)
  })

const inferPath = "/v2/models/alpha/infer"
const JSON_TYPE = { "content-type": "application/json" }

/** The plain answer, for comparing the compressed ones with. */
const plain = async (rows: number) => {
  const a = await post(fixture.server.url, inferPath, Buffer.from(inferBody(rows)), JSON_TYPE)
  expect(a.status).toBe(200)
  expect(a.headers["content-encoding"]).toBeUndefined()
  return JSON.parse(a.raw.toString("utf8"))
}

describe("compressed request bodies", () => {
  it.each([
    ["gzip", zlib.gzipSync],
    ["deflate", zlib.deflateSync],
    ["deflate", zlib.deflateRawSync]
  ] as const)("a JSON body sent with Content-Encoding: %s is inflated and answered as the plain one", async (enc, compress) => {
    const want = await plain(4)
    const a = await post(fixture.server.url, inferPath, compress(Buffer.from(inferBody(4))), { ...JSON_TYPE, "content-encoding": enc })
    expect(a.status).toBe(200)
    expect(JSON.parse(a.raw.toString("utf8"))).toEqual(want)
  })

  it("the binary tensor extension: Inference-Header-Content-Length counts the uncompressed header", async () => {
    const rows = 2
    const values = Float32Array.from({ length: rows * 64 }, (_, i) => Math.sin(i) / 2)
    const header = Buffer.from(
      JSON.stringify({ inputs: [{ name: "input", shape: [rows, 64], datatype: "FP32", parameters: { binary_data_size: values.byteLength } }], outputs: [{ name: "output", parameters: { binary_data: false } }] })
    )
    const body = Buffer.concat([header, Buffer.from(values.buffer)])
    const a = await post(fixture.server.url, inferPath, zlib.gzipSync(body), { "content-type": "application/octet-stream", "inference-header-content-length": header.length, "content-encoding": "gzip" })
    expect(a.status).toBe(200)
    const got = JSON.parse(a.raw.toString("utf8"))
    const want = await post(fixture.server.url, inferPath, body, { "content-type": "application/octet-stream", "inference-header-content-length": header.length })
    expect(got).toEqual(JSON.parse(want.raw.toString("utf8")))
  })

  it("a body that inflates past --max-body-size is 413 (a zip bomb costs at most the limit)", async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)) // 64 MiB of spaces in ~64 KiB
    expect(bomb.length).toBeLessThan(1024 * 1024)
    const a = await post(fixture.server.url, inferPath, bomb, { ...JSON_TYPE, "content-encoding": "gzip" })
    expect(a.status).toBe(413)
    expect(JSON.parse(a.raw.toString("utf8")).error).toMatch(/inflates to more than the limit of 1048576 bytes/)
  })

  it("corrupt data is 400, an encoding the server does not read is 400 naming it", async () => {
    const bad = await post(fixture.server.url, inferPath, Buffer.from("not gzip at all"), { ...JSON_TYPE, "content-encoding": "gzip" })
    expect(bad.status).toBe(400)
    expect(JSON.parse(bad.raw.toString("utf8")).error).toMatch(/not valid gzip data/)
    const br = await post(fixture.server.url, inferPath, zlib.brotliCompressSync(Buffer.from(inferBody())), { ...JSON_TYPE, "content-encoding": "br" })
    expect(br.status).toBe(400)
    expect(JSON.parse(br.raw.toString("utf8")).error).toMatch(/Content-Encoding "br" is not supported/)
  })
})

describe("compressed answers", () => {
  it.each([
    ["gzip", "gzip", zlib.gunzipSync],
    ["deflate", "deflate", zlib.inflateSync],
    ["deflate;q=0.5, gzip;q=1", "gzip", zlib.gunzipSync],
    ["gzip;q=0, deflate", "deflate", zlib.inflateSync]
  ] as const)("Accept-Encoding: %s gets a %s answer that inflates to the plain one", async (accept, enc, inflate) => {
    const want = await plain(8)
    const a = await post(fixture.server.url, inferPath, Buffer.from(inferBody(8)), { ...JSON_TYPE, "accept-encoding": accept })
    expect(a.status).toBe(200)
    expect(a.headers["content-encoding"]).toBe(enc)
    expect(Number(a.headers["content-length"])).toBe(a.raw.length)
    expect(JSON.parse(inflate(a.raw).toString("utf8"))).toEqual(want)
  })

  it("binary outputs: compressed, with Inference-Header-Content-Length of the uncompressed header", async () => {
    const body = JSON.stringify({ ...JSON.parse(inferBody(64)), outputs: [{ name: "output", parameters: { binary_data: true } }] })
    const a = await post(fixture.server.url, inferPath, Buffer.from(body), { ...JSON_TYPE, "accept-encoding": "gzip" })
    expect(a.status).toBe(200)
    expect(a.headers["content-encoding"]).toBe("gzip")
    const full = zlib.gunzipSync(a.raw)
    const hl = Number(a.headers["inference-header-content-length"])
    const header = JSON.parse(full.subarray(0, hl).toString("utf8"))
    expect(header.outputs[0]).toMatchObject({ name: "output", shape: [64, 10], parameters: { binary_data_size: 64 * 10 * 4 } })
    expect(full.length - hl).toBe(64 * 10 * 4)
  })

  it("small answers, and requests without Accept-Encoding, go out uncompressed", async () => {
    const small = await post(fixture.server.url, "/v2/models/alpha/infer", Buffer.from(JSON.stringify({ ...JSON.parse(inferBody(1)), outputs: [{ name: "output", parameters: { binary_data: true } }] })), {
      ...JSON_TYPE,
      "accept-encoding": "gzip"
    })
    expect(small.status).toBe(200)
    expect(small.raw.length).toBeLessThan(1024)
    expect(small.headers["content-encoding"]).toBeUndefined()
    await plain(8)
  })
})
