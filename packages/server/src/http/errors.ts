/**
 * One mapping from every error the server can meet to an honest HTTP status, shared by the
 * data plane and the control plane (gRPC has its own table in ../grpc/server.ts).
 *   400 malformed or mismatched input · 404 unknown model · 409 conflicting registration ·
 *   413 body too large · 429 model queue full · 502 model download failed at the origin ·
 *   503 load queue full / no evictable memory / load failed (retried later) / shutting down ·
 *   507 model larger than the whole memory budget · 500 anything else (a bug: logged).
 */
export interface HttpError {
  readonly status: number
  readonly message: string
  readonly retryAfterMs?: number
}

export const httpErrorOf = (err: unknown): HttpError => {
  const e = err as { _tag?: string; message?: string; kind?: string; retryAfterMs?: number; mismatch?: boolean }
  const message = e?.message ?? String(err)
  switch (e?._tag) {
    case "ModelNotFound":
      return { status: 404, message }
    case "BadRequest":
    case "InvalidRequest":
      return { status: 400, message }
    case "RuntimeError":
      return e.kind === "input" ? { status: 400, message } : e.kind === "load" ? { status: 503, message } : { status: 500, message }
    case "Conflict":
      return { status: 409, message }
    case "ModelTooLarge":
      return { status: 507, message }
    case "Overloaded":
      return { status: 429, message, retryAfterMs: 1000 }
    case "Unavailable":
    case "LoadFailed":
      return e.retryAfterMs !== undefined ? { status: 503, message, retryAfterMs: e.retryAfterMs } : { status: 503, message }
    case "DownloadFailed":
      return { status: e.mismatch ? 400 : 502, message }
    case "PayloadTooLarge":
      return { status: 413, message }
    default:
      return { status: 500, message: `internal error: ${message}` }
  }
}

/** Headers for an error answer (Retry-After in whole seconds, at least 1). */
export const errorHeaders = (h: HttpError, bodyLength: number): Record<string, string | number> => {
  const headers: Record<string, string | number> = { "content-type": "application/json", "content-length": bodyLength }
  if (h.retryAfterMs !== undefined) headers["retry-after"] = Math.max(1, Math.ceil(h.retryAfterMs / 1000))
  return headers
}

export const errorBody = (h: HttpError): string => JSON.stringify({ error: h.message })
