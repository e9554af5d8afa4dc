import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"

/**
 * A real OTLP/HTTP receiver for tests: accepts POST /v1/traces with OTLP/JSON bodies (as a
 * collector does) and keeps every span with its resource attributes.
 */
export interface ReceivedSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly name: string
  readonly kind: number
  readonly attributes: Record<string, unknown>
  readonly instance: unknown
  readonly startTimeUnixNano: string
  readonly endTimeUnixNano: string
}

export interface OtlpReceiver {
  readonly url: string
  readonly spans: ReceivedSpan[]
  /** bodies that were not valid OTLP/JSON (a test fails when there is one) */
  readonly rejected: string[]
  close(): Promise<void>
}

const flat = (attrs: Array<{ key: string; value: Record<string, unknown> }> | undefined): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const a of attrs ?? []) out[a.key] = Object.values(a.value)[0]
  return out
}

export const startOtlpReceiver = (): Promise<OtlpReceiver> =>
  new Promise((resolve) => {
    const spans: ReceivedSpan[] = []
    const rejected: string[] = []
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8")
        if (req.method !== "POST" || req.url !== "/v1/traces" || !/json/.test(req.headers["content-type"] ?? "")) {
          rejected.push(`${req.method} ${req.url} ${req.headers["content-type"]}`)
          res.writeHead(404).end()
          return
        }
        try {
          const body = JSON.parse(text) as { resourceSpans: Array<{ resource: { attributes: any }; scopeSpans: Array<{ spans: any[] }> }> }
          for (const rs of body.resourceSpans) {
            const resource = flat(rs.resource.attributes)
            for (const ss of rs.scopeSpans)
              for (const s of ss.spans) {
                if (!/^[0-9a-f]{32}$/.test(s.traceId) || !/^[0-9a-f]{16}$/.test(s.spanId) || !/^\d+$/.test(s.startTimeUnixNano)) throw new Error(`bad span ${JSON.stringify(s)}`)
                spans.push({ ...s, attributes: flat(s.attributes), instance: resource["service.instance.id"] })
              }
          }
          res.writeHead(200, { "content-type": "application/json" }).end("{}")
        } catch (e) {
          rejected.push(String(e))
          res.writeHead(400).end()
        }
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port
      resolve({ url: `http://127.0.0.1:${port}`, spans, rejected, close: () => new Promise((r) => server.close(() => r())) })
    })
  })
