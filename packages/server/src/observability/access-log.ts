/**
 * The access log (`--access-log`, off by default): one JSON line per request on the log's sink
 * (stderr), whatever the log level, with `msg: "access"` so it can be told from the other lines:
 *
 *   {"time":"…","level":"info","msg":"access","requestId":"…","traceId":"…","spanId":"…",
 *    "method":"POST","path":"/v2/models/m/infer","model":"m","status":200,"durationUs":812,
 *    "bytesIn":310,"bytesOut":190,"transport":"http","forwardedFrom":"pod-1","completed":true}
 *
 * Fields that do not apply are left out (no traceId without a traceparent, no forwardedFrom
 * for a client's own request). gRPC calls log `method: "ModelInfer"` and `transport: "grpc"`.
 */
export interface AccessRecord {
  readonly requestId: string | undefined
  readonly traceId: string | undefined
  readonly spanId: string | undefined
  readonly method: string | undefined
  readonly path: string | undefined
  readonly model: string | undefined
  readonly status: number | string
  readonly durationUs: number
  readonly bytesIn: number | undefined
  readonly bytesOut: number | undefined
  readonly transport: "http" | "grpc"
  readonly forwardedFrom: string | undefined
  readonly completed?: boolean
}

export interface AccessLog {
  write(r: AccessRecord): void
}

export const makeAccessLog = (write: (line: string) => void = (l) => process.stderr.write(l)): AccessLog => ({
  write: (r) => {
    // JSON.stringify leaves undefined fields out
    write(`${JSON.stringify({ time: new Date().toISOString(), level: "info", msg: "access", ...r })}\n`)
  }
})
