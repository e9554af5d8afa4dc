/**
 * gRPC ModelInfer across instances. A call for a model held elsewhere is forwarded as its own
 * protobuf bytes (never re-encoded) to the peer's HTTP listener at
 * `POST /v2/internal/grpc/infer/<model>`; the peer runs it through the same use case and
 * answers with the ModelInferResponse bytes, which go back to the client unchanged. Riding on
 * HTTP means an instance started with `--grpc-port off` still forwards and accepts forwarded
 * gRPC requests. Errors keep their transport-neutral kind (the x-meshkit-kind header), so the
 * client sees the status the peer meant.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import * as grpc from "@grpc/grpc-js"
import { FORWARD_HEADERS, forwardContextOf, type PeerForwarder } from "../../cluster/forwarder.js"
import { BadRequest, isErrorKind, messageOf, PeerFailed, type PayloadTooLarge } from "../../errors.js"
import type { ModelEntry } from "../../instance/model-entry.js"
import type { InferTransport, Serving } from "../../serving/infer.js"
import type { Principal } from "../../tenancy/tenants.js"
import { MODEL_VERSION } from "../../serving/server-state.js"
import { errorJson, requestIdOfResponse, traceOf } from "../../observability/request-trace.js"
import { traceFields } from "../../observability/trace-context.js"
import { decodeModelInferRequest, encodeModelInferResponse, type GrpcModelInferRequest, loadGrpcDefinition } from "../kserve-v2/index.js"

export const FORWARDED_GRPC_PATH = "/v2/internal/grpc/infer/"

const RAW = new WeakMap<object, Buffer>()

interface MethodDef {
  requestDeserialize: (b: Buffer) => unknown
  responseSerialize: (v: unknown) => Buffer
}

/**
 * The service definition with ModelInfer keeping each request's bytes (for forwarding) and
 * accepting an already encoded response (a peer's answer, passed through).
 */
export const forwardingServiceDefinition = (): grpc.ServiceDefinition => {
  const def = loadGrpcDefinition().GRPCInferenceService.service
  const keeping = (m: MethodDef) => ({
    ...m,
    requestDeserialize: (b: Buffer) => {
      const o = m.requestDeserialize(b)
      if (typeof o === "object" && o !== null) RAW.set(o, b)
      return o
    },
    responseSerialize: (v: unknown) => (Buffer.isBuffer(v) ? v : m.responseSerialize(v))
  })
  // ModelStreamInfer too: each streamed request is forwarded like a unary one (./stream-infer.ts).
  return {
    ...def,
    ModelInfer: keeping(def.ModelInfer as unknown as MethodDef),
    ModelStreamInfer: keeping(def.ModelStreamInfer as unknown as MethodDef)
  } as unknown as grpc.ServiceDefinition
}

/** The bytes a ModelInfer request arrived as (undefined when it was built in-process). */
export const rawRequestOf = (request: object): Buffer | undefined => RAW.get(request)

interface Collected {
  status: number
  headers: Record<string, string | string[]>
  body: Buffer
  headersSent: boolean
}

/** A sink for the forwarder that keeps the peer's answer instead of writing it to a socket. */
export const collector = (): Collected & { writeHead(s: number, h: Record<string, string | string[]>): void; end(b: Buffer): void } => {
  const c = {
    status: 0,
    headers: {} as Record<string, string | string[]>,
    body: Buffer.alloc(0) as Buffer,
    headersSent: false,
    writeHead(s: number, h: Record<string, string | string[]>) {
      c.status = s
      c.headers = h
      c.headersSent = true
    },
    end(b: Buffer) {
      c.body = b
    }
  }
  return c
}

/** A peer's HTTP answer to a forwarded gRPC call, as the gRPC answer for the client. */
export const peerAnswer = (c: Collected): { ok: true; body: Buffer } | { ok: false; error: PeerFailed } => {
  if (c.status === 200) return { ok: true, body: c.body }
  const kindHeader = c.headers["x-meshkit-kind"]
  const kind = isErrorKind(kindHeader) ? kindHeader : "internal"
  let message = `peer answered ${c.status}`
  try {
    const j = JSON.parse(c.body.toString("utf8")) as { error?: unknown }
    if (typeof j.error === "string") message = j.error
  } catch {
    // not JSON: keep the status line
  }
  return { ok: false, error: new PeerFailed({ message, kind }) }
}

const decodeRequest = (body: Buffer): GrpcModelInferRequest => {
  const infer = loadGrpcDefinition().GRPCInferenceService.service.ModelInfer as unknown as MethodDef
  try {
    return infer.requestDeserialize(body) as GrpcModelInferRequest
  } catch (e) {
    throw new BadRequest({ message: `forwarded gRPC request is not a ModelInferRequest: ${messageOf(e)}` })
  }
}

/** One forwarded gRPC call being served here (or forwarded on) over the internal HTTP route. */
interface ForwardedCall {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly name: string
  readonly raw: Buffer
  readonly request: GrpcModelInferRequest
}

const sendJsonError = (res: ServerResponse, status: number, message: string, extra: Record<string, string>) => {
  const body = errorJson(message, requestIdOfResponse(res))
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...extra })
  res.end(body)
}

/**
 * The internal route's handler. `sendError` is the HTTP transport's error answer (kind → status,
 * with the kind header), passed in so this file does not depend on the HTTP transport.
 */
export const makeForwardedGrpc = (o: {
  readonly serving: Serving
  readonly forwarder: PeerForwarder
  readonly maxBodyBytes: number
  readonly readBody: (req: IncomingMessage, limit: number, sink: { body(err: BadRequest | PayloadTooLarge | undefined, body?: Buffer): void }) => void
  readonly sendError: (res: ServerResponse, err: unknown) => void
}) => {
  const transport: InferTransport<ForwardedCall> = {
    // a gRPC call a peer forwarded as its protobuf bytes: still a gRPC request
    transport: "grpc",
    decode: (call, inputs) => decodeModelInferRequest(call.request, inputs),
    reply: (call, outputs, r) => {
      const infer = loadGrpcDefinition().GRPCInferenceService.service.ModelInfer as unknown as MethodDef
      const bytes = infer.responseSerialize(encodeModelInferResponse(call.name, MODEL_VERSION, r.id, outputs, r.binaryOutput))
      call.res.writeHead(200, { "content-type": "application/x-protobuf", "content-length": bytes.byteLength })
      call.res.end(bytes)
    },
    fail: (call, err) => o.sendError(call.res, err),
    context: (call) => forwardContextOf(call.req.headers),
    forward: (call, to, mode, ctx) => o.forwarder.forward({ id: to.id, url: to.httpUrl }, call.req.url ?? "/", call.req.headers, call.raw, ctx, mode, call.res, traceOf(call.req)),
    logFields: (call) => ({ requestId: call.req.headers["x-request-id"], ...traceFields(traceOf(call.req)) }),
    trace: (call) => traceOf(call.req),
    refuse: (call, refusal, message) => sendJsonError(call.res, 503, message, { [FORWARD_HEADERS.refused]: refusal, "x-meshkit-kind": "unavailable" })
  }

  return (req: IncomingMessage, res: ServerResponse, name: string, p: Principal): void => {
    const t0 = performance.now()
    o.readBody(req, o.maxBodyBytes, {
      body: (err, body) => {
        if (err) return o.sendError(res, err)
        let e: ModelEntry
        let request: GrpcModelInferRequest
        try {
          request = decodeRequest(body!)
          e = o.serving.lookup(name, request.model_version, p)
        } catch (err2) {
          o.serving.rejected(undefined, err2, t0, "grpc")
          return o.sendError(res, err2)
        }
        o.serving.infer(transport, { req, res, name, raw: body!, request }, e, t0, p)
      }
    })
  }
}
