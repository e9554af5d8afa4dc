/**
 * Forwarding a request to a peer instance: the raw request bytes go out unchanged over a pooled
 * keep-alive connection, and the peer's answer comes back unchanged. The forwarding context
 * (hop count, instances already tried, "hit only" or "load here") travels in headers, so every
 * hop sees the same bounds: a request can never loop, and a peer that failed is not asked twice.
 *
 * Forwarding is over the peers' HTTP listener whatever transport the client used: a gRPC request
 * is carried as its protobuf bytes to an internal route, so an instance started with
 * `--grpc-port off` still forwards and accepts forwarded requests.
 */
import { Agent, request, type IncomingHttpHeaders, type IncomingMessage } from "node:http"
import { Agent as TlsAgent, request as tlsRequest } from "node:https"
import { TENANT_HEADER } from "../tenancy/tenants.js"
import type { TlsMaterial } from "../tenancy/tls.js"
import { SPAN_KIND, type SpanBuffer } from "../observability/spans.js"
import { childSpan, nowMs, traceparentOf, type TraceContext } from "../observability/trace-context.js"

/** Headers of the forwarding context (lower case, as node:http gives them). */
export const FORWARD_HEADERS = {
  hops: "x-meshkit-hops",
  tried: "x-meshkit-tried",
  /** peers that failed this request (unreachable, refused): never counted as holders downstream */
  failed: "x-meshkit-failed",
  mode: "x-meshkit-mode",
  from: "x-meshkit-from",
  /** On a peer's answer: why it did not serve; the sender then tries elsewhere. */
  refused: "x-meshkit-refused"
} as const

/**
 * hit: serve only from a loaded (or loading) local copy, else refuse "not-here".
 * load: placement chose this instance; load the model here and serve the request.
 */
export type ForwardMode = "hit" | "load"

/** Why a peer refused a forwarded request; the sender excludes it and tries elsewhere. */
export type RefusalReason = "not-here" | "draining" | "load-failed" | "no-room" | "hops"

export interface ForwardContext {
  readonly hops: number
  readonly tried: readonly string[]
  readonly failed: readonly string[]
  readonly mode: ForwardMode | undefined
  readonly from: string | undefined
}

/** ModelMesh bounds a request at 8 iterations; a hop here is one forward. */
export const MAX_HOPS = 4

const SAFE_ID = /^[A-Za-z0-9._:@-]{1,200}$/

/** Reads the forwarding context of an incoming request; a request from a client has hops 0. */
export const forwardContextOf = (headers: IncomingHttpHeaders): ForwardContext => {
  const hopsRaw = headers[FORWARD_HEADERS.hops]
  const hops = typeof hopsRaw === "string" && /^\d{1,3}$/.test(hopsRaw) ? Number(hopsRaw) : 0
  const triedRaw = headers[FORWARD_HEADERS.tried]
  const tried = typeof triedRaw === "string" && triedRaw.length > 0 ? triedRaw.split(",").filter((s) => SAFE_ID.test(s)) : []
  const failedRaw = headers[FORWARD_HEADERS.failed]
  const failed = typeof failedRaw === "string" && failedRaw.length > 0 ? failedRaw.split(",").filter((s) => SAFE_ID.test(s)) : []
  const modeRaw = headers[FORWARD_HEADERS.mode]
  const mode = modeRaw === "hit" || modeRaw === "load" ? modeRaw : undefined
  const fromRaw = headers[FORWARD_HEADERS.from]
  const from = typeof fromRaw === "string" && SAFE_ID.test(fromRaw) ? fromRaw : undefined
  return { hops, tried, failed, mode, from }
}

export interface Peer {
  readonly id: string
  /** http://host:port of the peer's HTTP listener */
  readonly url: string
}

export type ForwardResult =
  /** The peer answered (any status but a refusal); the answer was written to the client. */
  | { readonly kind: "answered"; readonly status: number }
  /** The peer could not be reached, or refused; nothing was written to the client. */
  | { readonly kind: "failed"; readonly reason: string; readonly refusal: RefusalReason | undefined }

/** What to copy from the client's request: the body's framing and the protocol's own headers. */
const PASSED_HEADERS = ["content-type", "inference-header-content-length", "accept", "traceparent", "tracestate", "x-request-id", TENANT_HEADER]

export interface ForwarderOptions {
  /** How long a forwarded request may take in all (a peer loading a big model answers late). */
  readonly timeoutMs: number
  /** Open connections per peer; idle ones are kept for reuse. */
  readonly maxSocketsPerPeer?: number
  /** called once per forward with the time until the peer's answer (or failure) */
  readonly onResult?: (peer: string, seconds: number) => void
  /** tenancy: `Bearer <peer token>`, sent on every forward (the tenant travels in TENANT_HEADER) */
  readonly authorization?: string
  /** https peers: this instance's certificate (shown to peers requiring mutual TLS) and the CA peers are checked against */
  readonly tls?: TlsMaterial
  /** where a traced forward's client span goes (span export on) */
  readonly spans?: SpanBuffer
}

interface Sink {
  writeHead(status: number, headers: Record<string, string | string[]>): unknown
  end(body: Buffer): unknown
  readonly headersSent: boolean
}

export class PeerForwarder {
  private readonly agent: Agent
  private readonly tlsAgent: TlsAgent | undefined
  /** Forwards sent and their outcome, per peer: for /metrics. */
  readonly sent = new Map<string, { ok: number; failed: number; seconds: number }>()

  constructor(
    private readonly selfId: string,
    private readonly options: ForwarderOptions
  ) {
    this.agent = new Agent({ keepAlive: true, keepAliveMsecs: 10_000, maxSockets: options.maxSocketsPerPeer ?? 64, scheduling: "lifo" })
    const tls = options.tls
    // Peers are checked against the client CA when there is one (else the system's CAs).
    this.tlsAgent =
      tls === undefined
        ? undefined
        : new TlsAgent({ keepAlive: true, keepAliveMsecs: 10_000, maxSockets: options.maxSocketsPerPeer ?? 64, scheduling: "lifo", cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}) })
  }

  /** A request to a peer over the pooled connections (http or https by its URL). */
  private send(url: URL, headers: Record<string, string>, timeoutMs: number, onResponse: (res: IncomingMessage) => void) {
    if (this.options.authorization !== undefined) headers.authorization = this.options.authorization
    if (url.protocol === "https:") return tlsRequest(url, { method: "POST", agent: this.tlsAgent ?? false, headers, timeout: timeoutMs }, onResponse)
    return request(url, { method: "POST", agent: this.agent, headers, timeout: timeoutMs }, onResponse)
  }

  /** POST `body` to a peer's internal route (copy requests); resolves with the status, rejects when unreachable. */
  post(peerUrl: string, path: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = this.send(new URL(path, peerUrl), { ...headers, "content-length": String(Buffer.byteLength(body)) }, timeoutMs, (res) => {
        res.resume()
        res.on("end", () => resolve(res.statusCode ?? 0))
        res.on("error", reject)
      })
      req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
      req.on("error", reject)
      req.end(body)
    })
  }

  /** Like `post`, with the answer's body (small answers: the internal io route). */
  postForText(peerUrl: string, path: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<{ readonly status: number; readonly text: string }> {
    return new Promise((resolve, reject) => {
      const req = this.send(new URL(path, peerUrl), { ...headers, "content-length": String(Buffer.byteLength(body)) }, timeoutMs, (res) => {
        const chunks: Buffer[] = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }))
        res.on("error", reject)
      })
      req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
      req.on("error", reject)
      req.end(body)
    })
  }

  /**
   * Sends `body` to `peer` at `path`, with the client's protocol headers and the next hop's
   * context, and writes the peer's answer to `sink` unless the peer refused or failed.
   * A traced request (`trace`: this hop's span) gets a forward span of its own, and the peer
   * receives a traceparent naming that span as its parent.
   */
  forward(
    peer: Peer,
    path: string,
    clientHeaders: IncomingHttpHeaders,
    body: Buffer,
    ctx: ForwardContext,
    mode: ForwardMode,
    sink: Sink,
    trace?: TraceContext
  ): Promise<ForwardResult> {
    const headers: Record<string, string> = {
      "content-length": String(body.byteLength),
      [FORWARD_HEADERS.hops]: String(ctx.hops + 1),
      [FORWARD_HEADERS.tried]: [...ctx.tried, this.selfId].join(","),
      [FORWARD_HEADERS.mode]: mode,
      ...(ctx.failed.length > 0 ? { [FORWARD_HEADERS.failed]: ctx.failed.join(",") } : {}),
      [FORWARD_HEADERS.from]: this.selfId
    }
    for (const h of PASSED_HEADERS) {
      const v = clientHeaders[h]
      if (typeof v === "string") headers[h] = v
    }
    const span = trace === undefined ? undefined : childSpan(trace)
    if (span !== undefined) headers.traceparent = traceparentOf(span)
    const t0 = performance.now()
    return new Promise<ForwardResult>((resolve) => {
      let settled = false
      const settle = (r: ForwardResult) => {
        if (settled) return
        settled = true
        const s = this.sent.get(peer.id) ?? { ok: 0, failed: 0, seconds: 0 }
        if (r.kind === "answered") s.ok++
        else s.failed++
        const seconds = (performance.now() - t0) / 1000
        s.seconds += seconds
        this.sent.set(peer.id, s)
        this.options.onResult?.(peer.id, seconds)
        if (span !== undefined && this.options.spans?.enabled === true) {
          this.options.spans.record({
            trace: span,
            name: `forward ${mode}`,
            kind: SPAN_KIND.client,
            endMs: nowMs(),
            error: r.kind === "failed" ? r.reason : undefined,
            attributes: { "meshkit.peer": peer.id, "meshkit.forward_mode": mode, "meshkit.hops": ctx.hops + 1, "http.response.status_code": r.kind === "answered" ? r.status : undefined, "meshkit.request_id": headers["x-request-id"] }
          })
        }
        resolve(r)
      }
      let url: URL
      try {
        url = new URL(path, peer.url)
      } catch {
        settle({ kind: "failed", reason: `bad peer address ${JSON.stringify(peer.url)}`, refusal: undefined })
        return
      }
      const req = this.send(url, headers, this.options.timeoutMs, (res: IncomingMessage) => {
        const refusedRaw = res.headers[FORWARD_HEADERS.refused]
        const chunks: Buffer[] = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("error", (e) => settle({ kind: "failed", reason: `peer ${peer.id}: ${e.message}`, refusal: undefined }))
        res.on("end", () => {
          const answer = Buffer.concat(chunks)
          if (typeof refusedRaw === "string") {
            settle({ kind: "failed", reason: `peer ${peer.id} refused: ${refusedRaw}`, refusal: refusedRaw as RefusalReason })
            return
          }
          if (sink.headersSent) {
            settle({ kind: "failed", reason: "client response already started", refusal: undefined })
            return
          }
          const out: Record<string, string | string[]> = {}
          for (const [k, v] of Object.entries(res.headers)) {
            if (v === undefined || k === "connection" || k === "keep-alive" || k === "transfer-encoding" || k === "content-length") continue
            out[k] = v
          }
          out["content-length"] = String(answer.byteLength)
          sink.writeHead(res.statusCode ?? 502, out)
          sink.end(answer)
          settle({ kind: "answered", status: res.statusCode ?? 502 })
        })
      })
      req.on("timeout", () => {
        req.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`))
      })
      req.on("error", (e) => settle({ kind: "failed", reason: `peer ${peer.id} (${peer.url}): ${e.message}`, refusal: undefined }))
      req.end(body)
    })
  }

  close(): void {
    this.agent.destroy()
    this.tlsAgent?.destroy()
  }
}
