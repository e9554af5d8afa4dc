import * as grpc from "@grpc/grpc-js"
import fc from "fast-check"
import { Agent, request } from "node:http"
import { connect } from "node:net"
import { dirname, join } from "node:path"
import * as ort from "onnxruntime-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { grpcChannelOptions, loadGrpcDefinition } from "@meshkit/server"
import { MNIST, postJson, removeDir, startServer, tempDir, writeModel, type Served } from "./server-harness.js"

/**
 * A bounded fuzz run against a real `meshkit serve` process: a few thousand generated requests
 * on the REST data plane, the control plane, gRPC (typed messages and raw bytes to the method
 * paths) and raw sockets — random paths, methods, headers, mutated KServe JSON, binary extension
 * headers with bad lengths, huge and negative shapes, wrong datatypes, deep nesting, invalid
 * UTF-8. It asserts that the process never dies, that no request gets a 5xx other than the
 * load/budget ones (503, 429, 507), that every request is answered within a timeout, and that
 * mnist still gives the right answer afterwards. Seeded: a failure replays.
 */
const SEED = 20261201
const ANSWER_TIMEOUT_MS = 15_000
const CONCURRENCY = 8
/** 5xx a client error may get only where they mean load or budget (and gRPC's equivalents) */
const ALLOWED_5XX = new Set([503, 507])
const FAULT_GRPC = new Set([grpc.status.INTERNAL, grpc.status.UNKNOWN, grpc.status.DATA_LOSS, grpc.status.UNIMPLEMENTED])

let dir: string
let server: Served
let expectedMnist: Float32Array
const mnistInput = Float32Array.from({ length: 784 }, (_, i) => ((i * 13) % 255) / 255)
const failures: string[] = []
let answered = 0

const note = (what: string) => {
  if (failures.length < 30) failures.push(what.length > 400 ? `${what.slice(0, 400)}…` : what)
}

beforeAll(async () => {
  dir = await tempDir("fuzz")
  await writeModel(join(dir, "m.onnx"), 64 * 1024, 1)
  const session = await ort.InferenceSession.create(MNIST)
  expectedMnist = (await session.run({ Input3: new ort.Tensor("float32", mnistInput, [1, 1, 28, 28]) })).Plus214_Output_0!.data as Float32Array
  await session.release()
  // mnist comes from --models (the API cannot unregister it), m from a model root (the fuzzer may).
  server = await startServer([
    "--models", dirname(dirname(MNIST)), "--model-roots", dir, "--data-dir", join(dir, "data"), "--memory", "256MiB",
    "--max-body-size", "2MiB", "--max-request-elements", "1000000", "--decode-budget", "16MiB",
    "--headers-timeout", "3s", "--request-timeout", "6s", "--log-level", "error"
  ])
  expect((await postJson(server, "/v1/models", { id: "m", uri: join(dir, "m.onnx") })).status).toBe(201)
}, 120_000)

afterAll(async () => {
  await server?.stop()
  if (dir) await removeDir(dir)
})

/** Run `tasks` with at most `n` at once. */
const pool = async <T>(items: readonly T[], n: number, run: (t: T) => Promise<void>) => {
  let next = 0
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await run(items[next++]!)
  }))
}

// ---- generators ------------------------------------------------------------------------------------

const DATATYPES = ["FP32", "FP64", "FP16", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT64", "BOOL", "BYTES", "fp32", "X"]
const deep = (depth: number) => "[".repeat(depth) + "]".repeat(depth)
const dim = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 80 }) }, fc.integer({ min: -5, max: -1 }), fc.constantFrom(2 ** 31, 2 ** 40, 2 ** 53 - 1, 1.5), fc.constant("3"))
const shape = fc.oneof({ weight: 4, arbitrary: fc.array(dim, { maxLength: 5 }) }, fc.constant([1, 64]), fc.constant([1, 1, 28, 28]), fc.jsonValue({ maxDepth: 2 }))
const data = fc.oneof(
  fc.array(fc.double(), { maxLength: 300 }),
  fc.array(fc.integer(), { maxLength: 100 }),
  fc.array(fc.array(fc.float({ noNaN: true }), { maxLength: 64 }), { maxLength: 4 }),
  fc.array(fc.string(), { maxLength: 20 }),
  fc.array(fc.boolean(), { maxLength: 20 }),
  fc.jsonValue({ maxDepth: 4 }),
  fc.constant(new Array(64).fill(0.5)),
  fc.constant(new Array(784).fill(0.1))
)
const input = fc.record(
  {
    name: fc.oneof(fc.constantFrom("input", "Input3"), fc.string({ maxLength: 300 })),
    datatype: fc.oneof(fc.constantFrom(...DATATYPES), fc.jsonValue({ maxDepth: 1 })),
    shape,
    data,
    parameters: fc.oneof(fc.constant(undefined), fc.record({ binary_data_size: fc.oneof(fc.integer({ min: -10, max: 10_000 }), fc.constant(2 ** 60), fc.string()) }), fc.jsonValue({ maxDepth: 3 }))
  },
  { requiredKeys: [] }
)
const inferBody = fc.record(
  {
    id: fc.oneof(fc.string(), fc.integer(), fc.constant("INT64")),
    inputs: fc.oneof({ weight: 5, arbitrary: fc.array(input, { maxLength: 3 }) }, fc.jsonValue({ maxDepth: 2 })),
    outputs: fc.array(fc.record({ name: fc.string(), parameters: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] }), { maxLength: 2 }),
    parameters: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.boolean(), fc.integer(), fc.string())), fc.jsonValue({ maxDepth: 3 }))
  },
  { requiredKeys: [] }
)

/** A body: valid-ish JSON mutated, deep nesting, invalid UTF-8, binary-extension framing. */
const mutatedBody = fc.tuple(inferBody, fc.nat({ max: 9 }), fc.nat(), fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 60_000 })).map(([b, how, at, bytes, depth]) => {
  const text = JSON.stringify(b)
  const cut = text.length === 0 ? 0 : at % text.length
  const headers: Record<string, string> = {}
  let body: Buffer
  switch (how) {
    case 0:
      body = Buffer.from(text.slice(0, cut)) // truncated
      break
    case 1:
      body = Buffer.concat([Buffer.from(text.slice(0, cut)), Buffer.from(bytes), Buffer.from(text.slice(cut))]) // random bytes inside
      break
    case 2:
      body = Buffer.from(`{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":${deep(depth)}}]}`)
      break
    case 3:
      body = Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('","inputs":[]}')]) // invalid UTF-8
      break
    case 4: {
      // binary extension: a JSON header, then raw bytes, with a length that may lie
      const header = Buffer.from(text)
      body = Buffer.concat([header, Buffer.from(bytes)])
      headers["inference-header-content-length"] = String([header.length, header.length + 7, -1, 2 ** 53, cut][at % 5])
      break
    }
    case 5:
      headers["inference-header-content-length"] = ["abc", "", " 1", "1e3", "0x10", "99999999999999999999"][at % 6]!
      body = Buffer.from(text)
      break
    case 6:
      body = Buffer.from(text.replace(/^\{/, '{"__proto__":{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[]}]},'))
      break
    default:
      body = Buffer.from(text)
  }
  return { body, headers }
})

const segment = fc.oneof(fc.constantFrom("m", "mnist", "nope", "v2", "models", "infer", "ready", "versions", "1", "%zz", "..", ""), fc.string({ maxLength: 30 }).map(encodeURIComponent), fc.constant("x".repeat(3000)))
const dataPath = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("/v2/models/m/infer", "/v2/models/mnist/infer", "/v2/models/m/versions/1/infer") },
  fc.tuple(segment, fc.constantFrom("infer", "ready", "", "versions/1/infer", "versions/2/infer")).map(([n, a]) => `/v2/models/${n}/${a}`),
  fc.constantFrom("/v2", "/v2/health/live", "/v2/health/ready", "/v2/repository/index", "/v2/repository/models/m/load", "/v2/repository/models/nope/unload"),
  fc.array(segment, { maxLength: 5 }).map((s) => `/v2/${s.join("/")}`),
  fc.webPath()
)
const method = fc.oneof({ weight: 6, arbitrary: fc.constant("POST") }, fc.constantFrom("GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW"))
const contentType = fc.constantFrom(undefined, "application/json", "application/octet-stream", "text/plain; charset=latin1", "multipart/form-data; boundary=x")

const dataPlaneRequest = fc.record({ method, path: dataPath, body: mutatedBody, contentType })

const controlId = fc.oneof(fc.constantFrom("m", "mnist", "v1", "fz-1", "..", "%2e%2e", ""), fc.string({ maxLength: 40 }).map(encodeURIComponent), fc.constant("i".repeat(500)))
const controlPath = fc.oneof(
  fc.constantFrom("/v1/models", "/v1/vmodels", "/metrics", "/v1", "/"),
  fc.tuple(fc.constantFrom("/v1/models/", "/v1/vmodels/"), controlId, fc.constantFrom("", "/load", "/unload", "/x")).map(([a, b, c]) => a + b + c)
)
const controlBody = fc.oneof(
  fc.record(
    {
      id: fc.oneof(fc.constantFrom("fz-1", "fz-2", "m", "mnist", "../x"), fc.string({ maxLength: 40 })),
      uri: fc.oneof(fc.constantFrom("/etc/passwd", "/proc/self/environ", "http://127.0.0.1:1/x", "file:///etc/hostname", "m.onnx", "../x", "ftp://x/y"), fc.string({ maxLength: 60 })),
      target: fc.constantFrom("m", "mnist", "nope"),
      sha256: fc.string(),
      sizeBytes: fc.oneof(fc.integer(), fc.double()),
      loadNow: fc.boolean(),
      sync: fc.jsonValue({ maxDepth: 1 }),
      labels: fc.jsonValue({ maxDepth: 3 })
    },
    { requiredKeys: [] }
  ).map((o) => JSON.stringify(o)),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.integer({ min: 100, max: 100_000 }).map((d) => `{"target":${deep(d)}}`),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString("latin1")),
  fc.constant("")
)
const controlRequest = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH"),
  path: controlPath,
  body: controlBody,
  contentType
})

// ---- senders ---------------------------------------------------------------------------------------

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })

const send = (r: { method: string; path: string; body: Buffer | string; headers?: Record<string, string>; contentType?: string | undefined }): Promise<void> =>
  new Promise((resolve) => {
    const url = new URL(server.url)
    const headers: Record<string, string | number> = { ...(r.headers ?? {}) }
    if (r.contentType !== undefined) headers["content-type"] = r.contentType
    const body = typeof r.body === "string" ? Buffer.from(r.body, "latin1") : r.body
    headers["content-length"] = body.length
    const label = `${r.method} ${r.path.slice(0, 80)} ${JSON.stringify(r.headers ?? {})} ${body.subarray(0, 120).toString("latin1")}`
    let req
    try {
      req = request({ host: url.hostname, port: url.port, method: r.method, path: r.path, headers, agent, timeout: ANSWER_TIMEOUT_MS })
    } catch {
      return resolve() // the client library refuses it (an invalid path character): nothing was sent
    }
    const timer = setTimeout(() => {
      note(`no answer within ${ANSWER_TIMEOUT_MS} ms: ${label}`)
      req.destroy()
      resolve()
    }, ANSWER_TIMEOUT_MS)
    req.on("response", (res) => {
      const chunks: Buffer[] = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => {
        clearTimeout(timer)
        answered++
        const status = res.statusCode ?? 0
        if (status >= 500 && !ALLOWED_5XX.has(status)) note(`${status} for ${label}: ${Buffer.concat(chunks).toString("utf8").slice(0, 200)}`)
        if (status >= 400 && r.method !== "HEAD" && status !== 408) {
          const text = Buffer.concat(chunks).toString("utf8")
          try {
            if (typeof JSON.parse(text).error !== "string") note(`${status} without {"error"}: ${label}`)
          } catch {
            note(`${status} with a body that is not JSON (${text.slice(0, 80)}): ${label}`)
          }
        }
        resolve()
      })
      res.on("error", () => {
        clearTimeout(timer)
        resolve()
      })
    })
    req.on("error", (e) => {
      clearTimeout(timer)
      // a connection cut is allowed only if the process is still up (checked after the run)
      if (server.proc.exitCode !== null) note(`process died during: ${label} (${e.message})`)
      resolve()
    })
    req.end(body)
  })

/** Raw bytes on a fresh socket: the server must answer or close it, never keep it. */
const sendRaw = (bytes: Buffer): Promise<void> =>
  new Promise((resolve) => {
    const u = new URL(server.url)
    const s = connect({ host: u.hostname, port: Number(u.port) })
    const timer = setTimeout(() => {
      note(`raw socket kept open for ${ANSWER_TIMEOUT_MS} ms after: ${bytes.subarray(0, 80).toString("latin1")}`)
      s.destroy()
      resolve()
    }, ANSWER_TIMEOUT_MS)
    let out = ""
    s.on("data", (c) => {
      out += c.toString("latin1")
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1] ?? 0)
      if (status >= 500 && !ALLOWED_5XX.has(status)) note(`${status} on a raw socket for: ${bytes.subarray(0, 80).toString("latin1")}`)
    })
    s.on("error", () => {})
    s.on("close", () => {
      clearTimeout(timer)
      resolve()
    })
    s.end(bytes)
  })

const rawRequest = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 400 }).map((b) => Buffer.from(b)),
  fc.tuple(fc.constantFrom("GET", "POST", "PUT", "X"), dataPath, fc.array(fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 })), { maxLength: 4 }), fc.string({ maxLength: 100 })).map(
    ([m, p, hs, b]) => Buffer.from(`${m} ${p} HTTP/1.1\r\nhost: x\r\n${hs.map(([k, v]) => `${k}: ${v}\r\n`).join("")}content-length: ${b.length}\r\n\r\n${b}`, "latin1")
  ),
  fc.constantFrom(
    Buffer.from("POST /v2/models/m/infer HTTP/1.1\r\nhost: x\r\ncontent-length: -5\r\n\r\n"),
    Buffer.from("POST /v2/models/m/infer HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"),
    Buffer.from("POST /v2/models/m/infer HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello"),
    Buffer.from(`GET /${"a".repeat(20_000)} HTTP/1.1\r\nhost: x\r\n\r\n`),
    Buffer.from(`GET / HTTP/1.1\r\n${"x-h: y\r\n".repeat(3000)}\r\n`)
  )
)

// gRPC: typed messages (random fields), and raw bytes (an identity serializer) to each method path.
const GRPC_METHODS = ["ModelInfer", "ModelMetadata", "ModelReady", "ServerLive", "ServerReady", "ServerMetadata", "RepositoryIndex", "RepositoryModelLoad", "RepositoryModelUnload"]
const grpcTyped = fc.record({
  method: fc.constantFrom("ModelInfer", "ModelMetadata", "ModelReady", "RepositoryModelLoad"),
  msg: fc.record(
    {
      model_name: fc.oneof(fc.constantFrom("m", "mnist", "nope"), fc.string({ maxLength: 300 }), fc.constant("g".repeat(20_000))),
      name: fc.oneof(fc.constantFrom("m", "mnist"), fc.string()),
      model_version: fc.constantFrom("", "1", "2"),
      id: fc.string(),
      inputs: fc.array(
        fc.record(
          {
            name: fc.constantFrom("input", "Input3", "x"),
            datatype: fc.constantFrom(...DATATYPES),
            shape: fc.array(fc.oneof(fc.integer({ min: -3, max: 70 }), fc.constantFrom(2 ** 40, 2 ** 53 - 1)), { maxLength: 4 }),
            contents: fc.record(
              { fp32_contents: fc.array(fc.float(), { maxLength: 100 }), int64_contents: fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String), { maxLength: 10 }), bytes_contents: fc.array(fc.uint8Array({ maxLength: 10 }).map(Buffer.from), { maxLength: 5 }) },
              { requiredKeys: [] }
            )
          },
          { requiredKeys: [] }
        ),
        { maxLength: 3 }
      ),
      raw_input_contents: fc.array(fc.uint8Array({ maxLength: 300 }).map(Buffer.from), { maxLength: 3 })
    },
    { requiredKeys: [] }
  )
})
const grpcRaw = fc.record({ method: fc.constantFrom(...GRPC_METHODS), bytes: fc.uint8Array({ maxLength: 500 }).map(Buffer.from) })

describe("fuzzing a real server", () => {
  it("survives thousands of hostile requests on every plane and still answers correctly", async () => {
    const t0 = Date.now()
    const data = fc.sample(dataPlaneRequest, { seed: SEED, numRuns: 1500 })
    const control = fc.sample(controlRequest, { seed: SEED + 1, numRuns: 700 })
    const raw = fc.sample(rawRequest, { seed: SEED + 2, numRuns: 250 })
    const typed = fc.sample(grpcTyped, { seed: SEED + 3, numRuns: 500 })
    const rawGrpc = fc.sample(grpcRaw, { seed: SEED + 4, numRuns: 300 })

    await pool(data, CONCURRENCY, (r) => send({ method: r.method, path: r.path, body: r.body.body, headers: r.body.headers, contentType: r.contentType }))
    await pool(control, CONCURRENCY, (r) => send({ method: r.method, path: r.path, body: r.body, contentType: r.contentType }))
    await pool(raw, CONCURRENCY, sendRaw)

    const { GRPCInferenceService } = loadGrpcDefinition()
    const client = new GRPCInferenceService(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure(), grpcChannelOptions) as grpc.Client & Record<string, Function>
    const grpcAnswer = (label: string, done: () => void) => (err: grpc.ServiceError | null) => {
      answered++
      if (err && err.code === grpc.status.DEADLINE_EXCEEDED) note(`gRPC: no answer within ${ANSWER_TIMEOUT_MS} ms for ${label}`)
      if (err && FAULT_GRPC.has(err.code)) note(`gRPC ${grpc.status[err.code]} for ${label}: ${err.details.slice(0, 200)}`)
      if (err && err.details.length > 2000) note(`gRPC message of ${err.details.length} chars for ${label}`)
      done()
    }
    const deadline = () => new Date(Date.now() + ANSWER_TIMEOUT_MS)
    try {
      await pool(typed, CONCURRENCY, (r) =>
        new Promise<void>((resolve) => {
          try {
            client[r.method]!(r.msg, new grpc.Metadata(), { deadline: deadline() }, grpcAnswer(`${r.method} ${JSON.stringify(r.msg).slice(0, 150)}`, resolve))
          } catch {
            resolve() // the client cannot serialize it: nothing was sent
          }
        })
      )
      await pool(rawGrpc, CONCURRENCY, (r) =>
        new Promise<void>((resolve) => {
          client.makeUnaryRequest(
            `/inference.GRPCInferenceService/${r.method}`,
            (b: Buffer) => b,
            (b: Buffer) => b,
            r.bytes,
            new grpc.Metadata(),
            { deadline: deadline() },
            grpcAnswer(`raw ${r.method} ${r.bytes.toString("hex").slice(0, 80)}`, resolve)
          )
        })
      )

      // Afterwards: alive, healthy, and mnist gives the same answer as onnxruntime's own session.
      expect(server.proc.exitCode).toBe(null)
      expect((await fetch(`${server.url}/v2/health/live`)).status).toBe(200)
      const res = await fetch(`${server.url}/v2/models/mnist/infer`, {
        method: "POST",
        body: JSON.stringify({ inputs: [{ name: "Input3", shape: [1, 1, 28, 28], datatype: "FP32", data: Array.from(mnistInput) }] })
      })
      expect(res.status).toBe(200)
      expect(Float32Array.from(((await res.json()) as any).outputs[0].data)).toEqual(expectedMnist)
      const viaGrpc = await new Promise<any>((resolve, reject) =>
        client.ModelInfer!({ model_name: "mnist", inputs: [{ name: "Input3", datatype: "FP32", shape: [1, 1, 28, 28], contents: { fp32_contents: Array.from(mnistInput) } }] }, (e: unknown, r: unknown) => (e ? reject(e) : resolve(r)))
      )
      expect(Float32Array.from(viaGrpc.outputs[0].contents.fp32_contents)).toEqual(expectedMnist)
    } finally {
      client.close()
      agent.destroy()
    }
    expect(failures, failures.join("\n")).toEqual([])
    // the run really exercised the server (most requests got an answer)
    expect(answered).toBeGreaterThan(2500)
    console.log(`fuzz: ${answered} answers in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  }, 180_000)
})
