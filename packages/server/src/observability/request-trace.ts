import type { IncomingMessage, ServerResponse } from "node:http"
import type { AccessLog } from "./access-log.js"
import { REQUEST_ID_HEADER, newRequestId, validRequestId } from "./request-id.js"
import { SPAN_KIND, type SpanBuffer } from "./spans.js"
import { nowMs, startSpan, type TraceContext } from "./trace-context.js"

/**
 * What every HTTP request gets at the entry (transport/http/server.ts), before routing:
 *  - its request id: the client's valid `x-request-id`, else a new one, written back into the
 *    request's headers (so the control plane, error bodies and forwards read one value) and set
 *    on the response;
 *  - its span, when it carries a valid `traceparent` or span export is on (else nothing is
 *    parsed or allocated);
 *  - when the access log or span export is on, one hook on the response's close.
 */
const TRACES = new WeakMap<IncomingMessage, TraceContext>()

/** The span of this hop for `req`, if the request is traced. */
export const traceOf = (req: IncomingMessage): TraceContext | undefined => TRACES.get(req)

/** The request id the entry settled on (always set once the entry ran). */
export const requestIdOfRequest = (req: IncomingMessage): string | undefined => {
  const v = req.headers[REQUEST_ID_HEADER]
  return typeof v === "string" ? v : undefined
}

/** The request id a response carries, for error bodies (undefined before the entry ran). */
export const requestIdOfResponse = (res: ServerResponse): string | undefined => {
  const v = res.getHeader(REQUEST_ID_HEADER)
  return typeof v === "string" ? v : undefined
}

/** An error body: `{"error": ..., "requestId": ...}` ("error" first; no requestId when unknown). */
export const errorJson = (message: string, requestId: string | undefined): string =>
  JSON.stringify(requestId === undefined ? { error: message } : { error: message, requestId })

export interface HttpEntryOptions {
  readonly spans: SpanBuffer
  readonly accessLog: AccessLog | undefined
}

/** The model a /v2/models/<name>/... path addresses (access log and span attributes only). */
const modelOfPath = (path: string): string | undefined => {
  const p = path.startsWith("/v2/models/") ? "/v2/models/".length : path.startsWith("/v2/internal/grpc/infer/") ? "/v2/internal/grpc/infer/".length : -1
  if (p < 0) return undefined
  const end = path.indexOf("/", p)
  try {
    return decodeURIComponent(end < 0 ? path.slice(p) : path.slice(p, end))
  } catch {
    return undefined
  }
}

export const makeHttpEntry = (o: HttpEntryOptions) => {
  const { spans, accessLog } = o
  const hooked = spans.enabled || accessLog !== undefined

  const finished = (req: IncomingMessage, res: ServerResponse, t0: number, trace: TraceContext | undefined): void => {
    const url = req.url ?? "/"
    const q = url.indexOf("?")
    const path = q < 0 ? url : url.slice(0, q)
    const model = modelOfPath(path)
    const status = res.statusCode
    const internalGrpc = path.startsWith("/v2/internal/grpc/")
    const from = req.headers["x-meshkit-from"]
    if (accessLog !== undefined) {
      const bytesOut = res.getHeader("content-length")
      accessLog.write({
        requestId: requestIdOfRequest(req),
        traceId: trace?.traceId,
        spanId: trace?.spanId,
        method: req.method,
        path,
        model,
        status,
        durationUs: Math.round((performance.now() - t0) * 1000),
        bytesIn: Number(req.headers["content-length"] ?? 0),
        bytesOut: bytesOut === undefined ? undefined : Number(bytesOut),
        transport: internalGrpc ? "grpc" : "http",
        forwardedFrom: typeof from === "string" ? from : undefined,
        completed: res.writableFinished
      })
    }
    if (trace !== undefined && spans.enabled) {
      spans.record({
        trace,
        name: `${req.method} ${model !== undefined ? (internalGrpc ? "/v2/internal/grpc/infer/{model}" : path.replace(/^\/v2\/models\/[^/]+/, "/v2/models/{model}")) : path}`,
        kind: SPAN_KIND.server,
        endMs: nowMs(),
        error: status >= 500 ? `HTTP ${status}` : undefined,
        attributes: {
          "http.request.method": req.method,
          "url.path": path,
          "http.response.status_code": status,
          "meshkit.model": model,
          "meshkit.request_id": requestIdOfRequest(req),
          "meshkit.forwarded_from": typeof from === "string" ? from : undefined,
          "rpc.system": internalGrpc ? "grpc" : undefined
        }
      })
    }
  }

  /** Run first for every request. */
  return (req: IncomingMessage, res: ServerResponse): void => {
    const headers = req.headers
    let id = validRequestId(headers[REQUEST_ID_HEADER])
    if (id === undefined) {
      id = newRequestId()
      headers[REQUEST_ID_HEADER] = id
    }
    res.setHeader(REQUEST_ID_HEADER, id)
    const tp = headers.traceparent
    let trace: TraceContext | undefined
    if (tp !== undefined || spans.enabled) {
      trace = startSpan(tp, spans.enabled)
      if (trace !== undefined) TRACES.set(req, trace)
    }
    if (hooked) {
      const t0 = performance.now()
      res.once("close", () => finished(req, res, t0, trace))
    }
  }
}
