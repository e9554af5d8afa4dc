import { request as httpRequest } from "node:http"
import { request as httpsRequest } from "node:https"
import { Context, Effect, Layer } from "effect"
import type { TraceContext } from "./trace-context.js"

/**
 * Spans for OTLP export (`--otlp-endpoint URL`). The request path only pushes a finished span's
 * plain record into a bounded ring (no Effect, no I/O); a timer off the request path drains the
 * ring every second and POSTs the batch as OTLP/HTTP JSON to `URL/v1/traces` (the collector's
 * standard path; give the base URL, e.g. http://otel-collector:4318). A full ring drops the
 * oldest spans and counts them rather than slowing requests down. Off by default: then
 * `enabled` is false and nothing is recorded.
 */

/** OTLP span kinds (opentelemetry-proto trace.proto). */
export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const

export type AttributeValue = string | number | boolean

export interface SpanRecord {
  readonly trace: TraceContext
  readonly name: string
  readonly kind: (typeof SPAN_KIND)[keyof typeof SPAN_KIND]
  readonly endMs: number
  readonly error: string | undefined
  readonly attributes: Readonly<Record<string, AttributeValue | undefined>>
}

export class SpanBuffer {
  private readonly ring: Array<SpanRecord | undefined>
  private head = 0
  private count = 0
  /** spans dropped because the ring was full (the exporter fell behind or the collector is down) */
  dropped = 0

  constructor(
    /** false: spans are neither started nor recorded */
    readonly enabled: boolean,
    capacity = 8192
  ) {
    this.ring = new Array<SpanRecord | undefined>(enabled ? capacity : 0)
  }

  record(s: SpanRecord): void {
    if (!this.enabled) return
    const cap = this.ring.length
    if (this.count === cap) {
      this.head = (this.head + 1) % cap
      this.count--
      this.dropped++
    }
    this.ring[(this.head + this.count) % cap] = s
    this.count++
  }

  /** Every buffered span, oldest first; the ring is empty afterwards. */
  drain(max = Infinity): SpanRecord[] {
    const n = Math.min(this.count, max)
    const out: SpanRecord[] = new Array(n)
    const cap = this.ring.length
    for (let i = 0; i < n; i++) {
      out[i] = this.ring[this.head]!
      this.ring[this.head] = undefined
      this.head = (this.head + 1) % cap
    }
    this.count -= n
    return out
  }

  get size(): number {
    return this.count
  }
}

/** The span buffer as a service (its own tag). */
export class Spans extends Context.Tag("meshkit/server/Spans")<Spans, SpanBuffer>() {}

/** OTLP/JSON timestamps: decimal nanoseconds since the epoch, as a string (beyond 2^53). */
export const unixNanos = (ms: number): string => {
  let whole = Math.floor(ms)
  let frac = Math.round((ms - whole) * 1e6)
  if (frac >= 1e6) {
    whole += 1
    frac = 0
  }
  return `${whole}${String(frac).padStart(6, "0")}`
}

const attribute = (key: string, v: AttributeValue) => ({
  key,
  value: typeof v === "string" ? { stringValue: v } : typeof v === "boolean" ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v }
})

const attributes = (a: Readonly<Record<string, AttributeValue | undefined>>) => {
  const out: ReturnType<typeof attribute>[] = []
  for (const k in a) {
    const v = a[k]
    if (v !== undefined) out.push(attribute(k, v))
  }
  return out
}

/** An ExportTraceServiceRequest in OTLP/JSON (ids in hex, as the OTLP JSON mapping says). */
export const otlpTraceRequest = (spans: ReadonlyArray<SpanRecord>, resource: Readonly<Record<string, AttributeValue>>) => ({
  resourceSpans: [
    {
      resource: { attributes: attributes(resource) },
      scopeSpans: [
        {
          scope: { name: "meshkit" },
          spans: spans.map((s) => ({
            traceId: s.trace.traceId,
            spanId: s.trace.spanId,
            ...(s.trace.parentSpanId !== undefined ? { parentSpanId: s.trace.parentSpanId } : {}),
            name: s.name,
            kind: s.kind,
            startTimeUnixNano: unixNanos(s.trace.startMs),
            endTimeUnixNano: unixNanos(s.endMs),
            attributes: attributes(s.attributes),
            status: s.error === undefined ? { code: 1 } : { code: 2, message: s.error }
          }))
        }
      ]
    }
  ]
})

/** POST one JSON body; resolves with the status (0 when the collector cannot be reached). */
const post = (url: URL, body: string, timeoutMs: number): Promise<number> =>
  new Promise((resolve) => {
    const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(
      url,
      { method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }, timeout: timeoutMs },
      (res) => {
        res.resume()
        res.on("end", () => resolve(res.statusCode ?? 0))
        res.on("error", () => resolve(0))
      }
    )
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", () => resolve(0))
    req.end(body)
  })

/** `URL` as given when it already ends in /v1/traces, else URL + /v1/traces. */
export const tracesUrl = (endpoint: string): URL => {
  const u = new URL(endpoint)
  if (!u.pathname.endsWith("/v1/traces")) u.pathname = `${u.pathname.replace(/\/$/, "")}/v1/traces`
  return u
}

export interface SpanExportOptions {
  /** the collector's base URL (or its /v1/traces URL); undefined: export off */
  readonly endpoint: string | undefined
  readonly resource: Readonly<Record<string, AttributeValue>>
  readonly intervalMs?: number
  readonly onError?: (message: string) => void
}

/**
 * The Spans service and, when an endpoint is set, its exporter: a timer drains the buffer in
 * batches of up to 512 spans; closing the scope exports what is left (listeners drained first).
 */
export const spansLayer = (o: SpanExportOptions) =>
  Layer.scoped(
    Spans,
    Effect.gen(function* () {
      const buffer = new SpanBuffer(o.endpoint !== undefined)
      if (o.endpoint === undefined) return buffer
      const url = tracesUrl(o.endpoint)
      let busy: Promise<void> | undefined
      let failing = false
      const flush = (): Promise<void> => {
        if (busy !== undefined) return busy
        if (buffer.size === 0) return Promise.resolve()
        busy = (async () => {
          while (buffer.size > 0) {
            const batch = buffer.drain(512)
            const status = await post(url, JSON.stringify(otlpTraceRequest(batch, o.resource)), 10_000)
            const ok = status >= 200 && status < 300
            // One line when export starts failing and none while it keeps failing (no log flood).
            if (!ok && !failing) o.onError?.(`OTLP export to ${url.href} failed (${status === 0 ? "unreachable" : `HTTP ${status}`}); spans are dropped until it answers`)
            failing = !ok
            if (!ok) break
          }
        })().finally(() => {
          busy = undefined
        })
        return busy
      }
      const timer = setInterval(() => void flush(), o.intervalMs ?? 1000)
      timer.unref()
      yield* Effect.addFinalizer(() =>
        Effect.promise(async () => {
          clearInterval(timer)
          await busy
          await flush()
        })
      )
      return buffer
    })
  )
