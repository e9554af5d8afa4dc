import autocannon from "autocannon"
import { build } from "hdr-histogram-js"

/**
 * Closed-loop HTTP load with per-response latency in microseconds. autocannon's own histogram
 * has whole-millisecond resolution, too coarse for a sub-millisecond hit path, so every response
 * time (autocannon measures it with hrtime, in fractional ms) goes into our own HDR histogram.
 */

export interface LoadOptions {
  readonly url: string
  readonly connections: number
  readonly durationSeconds: number
  readonly body: string
  /** when set, the path of each request (e.g. a Zipf-chosen model); otherwise the url's path */
  readonly nextPath?: () => string
  readonly timeoutSeconds?: number
  /** extra request headers (e.g. authorization) */
  readonly headers?: Readonly<Record<string, string>>
}

export interface LoadResult {
  readonly responses: number
  readonly ok: number
  /** responses by HTTP status */
  readonly statuses: Readonly<Record<string, number>>
  /** connection errors and timeouts */
  readonly errors: number
  readonly seconds: number
  /** 2xx responses per second */
  readonly throughput: number
  readonly latencyUs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly p999: number; readonly max: number; readonly mean: number }
  /** [percentile, µs] points for a latency chart */
  readonly percentiles: ReadonlyArray<readonly [number, number]>
}

const CHART_PERCENTILES = [1, 5, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99]

export const runLoad = (o: LoadOptions): Promise<LoadResult> =>
  new Promise((resolve, reject) => {
    const hist = build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 })
    const statuses: Record<string, number> = {}
    let responses = 0
    let ok = 0
    let errors = 0
    const start = process.hrtime.bigint()
    const headers = { "content-type": "application/json", ...o.headers }
    const nextPath = o.nextPath
    const instance = autocannon(
      {
        url: o.url,
        connections: o.connections,
        duration: o.durationSeconds,
        method: "POST",
        headers,
        body: o.body,
        timeout: o.timeoutSeconds ?? 30,
        ...(nextPath ? { requests: [{ method: "POST", setupRequest: (req: autocannon.Request) => ({ ...req, path: nextPath() }) }] } : {})
      },
      (err) => {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9
        if (err) return reject(err)
        const p = (q: number) => hist.getValueAtPercentile(q)
        resolve({
          responses,
          ok,
          statuses,
          errors,
          seconds,
          throughput: ok / seconds,
          latencyUs: { p50: p(50), p90: p(90), p99: p(99), p999: p(99.9), max: hist.maxValue, mean: hist.mean },
          percentiles: hist.totalCount === 0 ? [] : CHART_PERCENTILES.map((q) => [q, p(q)] as const)
        })
      }
    )
    instance.on("response", (_client, statusCode, _bytes, responseTimeMs) => {
      responses++
      if (statusCode >= 200 && statusCode < 300) ok++
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1
      hist.recordValue(Math.max(1, Math.round(responseTimeMs * 1000)))
    })
    instance.on("reqError", () => errors++)
  })
