import { randomFillSync } from "node:crypto"

/**
 * W3C trace context (https://www.w3.org/TR/trace-context/): `traceparent` is
 * `VERSION-TRACEID-PARENTID-FLAGS` in lower-case hex. Each hop through this server is one span:
 * a child of the caller's span (or a new trace's root when the server starts the trace), and
 * the traceparent sent on to a peer names this hop's span (or its forward span) as the parent.
 *
 * Nothing here runs for a request without a traceparent while span export is off: the HTTP and
 * gRPC entries only read the header.
 */
export interface TraceContext {
  readonly traceId: string
  /** this hop's span */
  readonly spanId: string
  /** the caller's span; undefined for a trace started here */
  readonly parentSpanId: string | undefined
  /** trace-flags as two hex digits ("01" = sampled) */
  readonly flags: string
  /** epoch milliseconds (fractional) when the span started */
  readonly startMs: number
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/
const ZERO_TRACE = "00000000000000000000000000000000"
const ZERO_SPAN = "0000000000000000"

export interface ParsedTraceparent {
  readonly traceId: string
  readonly parentId: string
  readonly flags: string
}

/** The header parsed, or undefined when it is not a valid traceparent (then it is ignored, as the spec says). */
export const parseTraceparent = (v: unknown): ParsedTraceparent | undefined => {
  if (typeof v !== "string" || v.length < 55 || v.length > 512) return undefined
  const m = TRACEPARENT.exec(v)
  if (m === null) return undefined
  const [, version, traceId, parentId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined]
  if (version === "ff") return undefined
  // version 00 has exactly four fields; a later version may append more (kept compatible)
  if (version === "00" && rest !== undefined) return undefined
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined
  return { traceId, parentId, flags }
}

// Random ids from a pooled buffer: one randomFillSync per 512 ids rather than one per id.
const POOL = Buffer.alloc(4096)
let poolAt = POOL.length

const randomHex = (bytes: number): string => {
  if (poolAt + bytes > POOL.length) {
    randomFillSync(POOL)
    poolAt = 0
  }
  const s = POOL.toString("hex", poolAt, poolAt + bytes)
  poolAt += bytes
  return s
}

/** A new non-zero 8-byte span id, in hex. */
export const newSpanId = (): string => {
  const s = randomHex(8)
  return s === ZERO_SPAN ? newSpanId() : s
}

/** A new non-zero 16-byte trace id, in hex. */
export const newTraceId = (): string => {
  const s = randomHex(16)
  return s === ZERO_TRACE ? newTraceId() : s
}

/**
 * This hop's span: a child of the incoming traceparent when valid, else — when `startTraces`
 * (span export is on) — the root of a new sampled trace, else undefined (no tracing).
 */
export const startSpan = (traceparent: unknown, startTraces: boolean): TraceContext | undefined => {
  const p = parseTraceparent(traceparent)
  if (p !== undefined) return { traceId: p.traceId, spanId: newSpanId(), parentSpanId: p.parentId, flags: p.flags, startMs: nowMs() }
  if (!startTraces) return undefined
  return { traceId: newTraceId(), spanId: newSpanId(), parentSpanId: undefined, flags: "01", startMs: nowMs() }
}

/** A child of `parent` (a forward, a load), started now. */
export const childSpan = (parent: TraceContext): TraceContext => ({
  traceId: parent.traceId,
  spanId: newSpanId(),
  parentSpanId: parent.spanId,
  flags: parent.flags,
  startMs: nowMs()
})

/** The traceparent naming `t` as the parent, for the next hop. */
export const traceparentOf = (t: TraceContext): string => `00-${t.traceId}-${t.spanId}-${t.flags}`

/** Epoch milliseconds with sub-millisecond resolution (performance's clock, anchored at its origin). */
export const nowMs = (): number => performance.timeOrigin + performance.now()

/** The fields a log line about this request carries. */
export const traceFields = (t: TraceContext | undefined): { traceId?: string; spanId?: string } =>
  t === undefined ? {} : { traceId: t.traceId, spanId: t.spanId }
