import type { ServerResponse } from "node:http"
import { type ErrorKind, kindOf, messageOf, retryAfterOf } from "../../errors.js"
import { publicMessage } from "../public-message.js"
import { errorJson, requestIdOfResponse } from "../../observability/request-trace.js"

/**
 * Error kind → HTTP status, for the data plane and the control plane (gRPC has its own table in
 * ../grpc/errors.ts). 500 means a server bug; its message says so.
 */
export const HTTP_STATUS: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  forbidden: 403,
  "not-found": 404,
  conflict: 409,
  "payload-too-large": 413,
  overloaded: 429,
  upstream: 502,
  unavailable: 503,
  "insufficient-storage": 507,
  unauthenticated: 401,
  internal: 500
}

export interface HttpError {
  readonly status: number
  /** the transport-neutral kind, sent as x-meshkit-kind so a forwarding peer keeps it */
  readonly kind: ErrorKind
  readonly message: string
  readonly retryAfterMs?: number
}

export const httpErrorOf = (err: unknown): HttpError => {
  const kind = kindOf(err)
  const message = publicMessage(kind === "internal" ? `internal error: ${messageOf(err)}` : messageOf(err))
  const retryAfterMs = retryAfterOf(err)
  return retryAfterMs === undefined ? { status: HTTP_STATUS[kind], kind, message } : { status: HTTP_STATUS[kind], kind, message, retryAfterMs }
}

/** Headers for an error answer (Retry-After in whole seconds, at least 1). */
export const errorHeaders = (h: HttpError, bodyLength: number): Record<string, string | number> => {
  const headers: Record<string, string | number> = { "content-type": "application/json", "content-length": bodyLength, "x-meshkit-kind": h.kind }
  if (h.retryAfterMs !== undefined) headers["retry-after"] = retryAfterSeconds(h.retryAfterMs)
  if (h.kind === "unauthenticated") headers["www-authenticate"] = "Bearer"
  return headers
}

export const retryAfterSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000))

/** `{"error": ..., "requestId": ...}`: "error" first, the request id when known. */
export const errorBody = (h: HttpError, requestId?: string): string => errorJson(h.message, requestId)


/** An error body for `res` with the request id the entry set on it. */
export const errorJsonFor = (res: ServerResponse, message: string): string => errorJson(message, requestIdOfResponse(res))

/** Answer `err` on `res` (or cut the connection if the answer had already started). */
export const sendError = (res: ServerResponse, err: unknown): void => {
  const h = httpErrorOf(err)
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = errorBody(h, requestIdOfResponse(res))
  res.writeHead(h.status, errorHeaders(h, Buffer.byteLength(body)))
  res.end(body)
}
