/**
 * Request ids, W3C trace context, the access log and OTLP span export, end to end on a real
 * `meshkit serve` process (REST and gRPC) with a real OTLP/HTTP receiver.
 */
import * as grpc from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { grpcChannelOptions, loadGrpcDefinition } from "@meshkit/server"
import { startOtlpReceiver, type OtlpReceiver } from "./support/otlp-receiver.js"
import { eventually, inferBody, withServer } from "./server-harness.js"

let receiver: OtlpReceiver
beforeAll(async () => {
  receiver = await startOtlpReceiver()
})
afterAll(async () => {
  await receiver?.close()
})

const f = withServer("tracing", {
  models: { m: [64 * 1024, 1], cold: [64 * 1024, 2] },
  args: (dir) => ["--models", dir, "--memory", "64MiB", "--data-dir", `${dir}/data`, "--access-log", "--otlp-endpoint", receiver.url, "--log-level", "warn"]
})

const post = (path: string, headers: Record<string, string> = {}, body = inferBody()) =>
  fetch(`${f.server.url}${path}`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } })

/** The access log lines written so far, parsed. */
const accessLines = (): any[] =>
  f.server
    .stderr()
    .split("\n")
    .filter((l) => l.includes(`"msg":"access"`))
    .map((l) => JSON.parse(l))

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
const PARENT = "00f067aa0ba902b7"

describe("request id", () => {
  it("is made when absent, echoed when valid, replaced when invalid", async () => {
    const a = await post("/v2/models/m/infer")
    const b = await post("/v2/models/m/infer")
    expect(a.status).toBe(200)
    const idA = a.headers.get("x-request-id")!
    const idB = b.headers.get("x-request-id")!
    expect(idA).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/)
    expect(idB).not.toBe(idA)

    const mine = await post("/v2/models/m/infer", { "x-request-id": "client-id_42" })
    expect(mine.headers.get("x-request-id")).toBe("client-id_42")
    for (const bad of ["x".repeat(129), "has space", "tab\there"]) {
      const r = await fetch(`${f.server.url}/v2/health/live`, { headers: { "x-request-id": bad } })
      const got = r.headers.get("x-request-id")!
      expect(got).not.toBe(bad)
      expect(got).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/)
    }
  })

  it("is in every error body, after the error", async () => {
    const cases: Array<[string, RequestInit]> = [
      ["/v2/models/nope/infer", { method: "POST", body: inferBody() }],
      ["/v2/models/m/infer", { method: "POST", body: "{not json" }],
      ["/v2/models/m/infer", { method: "GET" }],
      ["/v2/nothing", {}],
      ["/v1/models/nope", {}],
      ["/v1/nothing", {}],
      ["/v1/models", { method: "POST", body: "{}" }]
    ]
    for (const [path, init] of cases) {
      const r = await fetch(`${f.server.url}${path}`, { ...init, headers: { "x-request-id": `err-${path.length}` } })
      expect(r.status, path).toBeGreaterThanOrEqual(400)
      const text = await r.text()
      expect(Object.keys(JSON.parse(text)), `${path}: ${text}`).toEqual(["error", "requestId"])
      expect(JSON.parse(text).requestId).toBe(`err-${path.length}`)
      expect(r.headers.get("x-request-id")).toBe(`err-${path.length}`)
    }
  })
})

describe("trace context, access log and OTLP spans", () => {
  it("continues a traceparent: the server span is a child of the caller's, exported with its trace id", async () => {
    const r = await post("/v2/models/m/infer", { traceparent: `00-${TRACE}-${PARENT}-01`, "x-request-id": "traced-1" })
    expect(r.status).toBe(200)
    await eventually(async () => receiver.spans.some((s) => s.traceId === TRACE), 15_000)
    const span = receiver.spans.find((s) => s.traceId === TRACE)!
    expect(span.parentSpanId).toBe(PARENT)
    expect(span.spanId).toMatch(/^[0-9a-f]{16}$/)
    expect(span.spanId).not.toBe(PARENT)
    expect(span.kind).toBe(2)
    expect(span.name).toBe("POST /v2/models/{model}/infer")
    expect(span.attributes).toMatchObject({ "meshkit.model": "m", "meshkit.request_id": "traced-1", "http.response.status_code": "200" }) // OTLP/JSON int64s are strings
    expect(BigInt(span.endTimeUnixNano)).toBeGreaterThan(BigInt(span.startTimeUnixNano))
    // the access log line of that request names the same trace and span
    await eventually(async () => accessLines().some((l) => l.requestId === "traced-1"))
    const line = accessLines().find((l) => l.requestId === "traced-1")
    expect(line).toMatchObject({ traceId: TRACE, spanId: span.spanId, method: "POST", path: "/v2/models/m/infer", model: "m", status: 200, transport: "http" })
    expect(line.durationUs).toBeGreaterThan(0)
    expect(line.bytesOut).toBeGreaterThan(0)
    expect(receiver.rejected).toEqual([])
  })

  it("a request that waits for a load has a load span under its server span", async () => {
    const trace = "5".repeat(32)
    const r = await post("/v2/models/cold/infer", { traceparent: `00-${trace}-${PARENT}-01` })
    expect(r.status).toBe(200)
    await eventually(async () => receiver.spans.filter((s) => s.traceId === trace).length >= 2, 15_000)
    const server = receiver.spans.find((s) => s.traceId === trace && s.kind === 2)!
    const load = receiver.spans.find((s) => s.traceId === trace && s.name === "model load")!
    expect(load.parentSpanId).toBe(server.spanId)
    expect(load.attributes["meshkit.model"]).toBe("cold")
    expect(BigInt(load.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(server.startTimeUnixNano))
    expect(BigInt(load.endTimeUnixNano)).toBeLessThanOrEqual(BigInt(server.endTimeUnixNano))
  })

  it("ignores an invalid traceparent (a new trace starts here, since export is on)", async () => {
    const bad = `00-${"0".repeat(32)}-${PARENT}-01`
    const r = await post("/v2/models/m/infer", { traceparent: bad, "x-request-id": "bad-tp" })
    expect(r.status).toBe(200)
    await eventually(async () => receiver.spans.some((s) => s.attributes["meshkit.request_id"] === "bad-tp"), 15_000)
    const span = receiver.spans.find((s) => s.attributes["meshkit.request_id"] === "bad-tp")!
    expect(span.traceId).not.toBe("0".repeat(32))
    expect(span.parentSpanId).toBeUndefined()
  })

  it("gRPC: x-request-id and traceparent metadata in, x-request-id out (also in an error's trailers)", async () => {
    const { GRPCInferenceService } = loadGrpcDefinition()
    const client = new GRPCInferenceService(`127.0.0.1:${f.server.grpcPort}`, grpc.credentials.createInsecure(), grpcChannelOptions) as any
    try {
      const md = new grpc.Metadata()
      md.set("x-request-id", "grpc-1")
      md.set("traceparent", `00-${"ab".repeat(16)}-${PARENT}-01`)
      const headers = await new Promise<grpc.Metadata>((resolve, reject) => {
        const call = client.ModelInfer(
          { model_name: "m", inputs: [{ name: "input", datatype: "FP32", shape: [1, 64], contents: { fp32_contents: Array(64).fill(0.5) } }] },
          md,
          (err: grpc.ServiceError | null) => (err ? reject(err) : undefined)
        )
        call.on("metadata", resolve)
      })
      expect(headers.get("x-request-id")).toEqual(["grpc-1"])
      await eventually(async () => receiver.spans.some((s) => s.traceId === "ab".repeat(16)), 15_000)
      expect(receiver.spans.find((s) => s.traceId === "ab".repeat(16))).toMatchObject({ parentSpanId: PARENT, name: "inference.GRPCInferenceService/ModelInfer" })
      await eventually(async () => accessLines().some((l) => l.requestId === "grpc-1"))
      expect(accessLines().find((l) => l.requestId === "grpc-1")).toMatchObject({ method: "ModelInfer", model: "m", status: "OK", transport: "grpc", traceId: "ab".repeat(16) })

      const err = await new Promise<grpc.ServiceError>((resolve) => client.ModelInfer({ model_name: "nope", inputs: [] }, new grpc.Metadata(), (e: grpc.ServiceError) => resolve(e)))
      expect(err.code).toBe(grpc.status.NOT_FOUND)
      expect(err.metadata.get("x-request-id")[0]).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/)
    } finally {
      client.close()
    }
  })
})
