import { Agent, request } from "node:http"
import { build } from "hdr-histogram-js"

/**
 * Open-loop replay of a request schedule against a server: each request is sent at its time
 * whether or not earlier ones have been answered (a trace does not wait for the server), and its
 * latency — send to last response byte — is recorded in microseconds.
 */

export interface Schedule {
  /** send time of each request, ms from the start, non-decreasing */
  readonly atMs: Float64Array
  /** request path of each request (index into `paths`) */
  readonly target: Int32Array
  readonly paths: ReadonlyArray<string>
}

export interface ReplayResult {
  readonly sent: number
  readonly ok: number
  readonly statuses: Readonly<Record<string, number>>
  readonly errors: number
  readonly seconds: number
  readonly latencyUs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly p999: number; readonly max: number; readonly mean: number }
  /** [latency µs, fraction ≤] for a CDF chart */
  readonly cdf: ReadonlyArray<readonly [number, number]>
  /** the first few bodies of answers that were not 2xx (status: body), for diagnostics */
  readonly failureSamples: ReadonlyArray<string>
  /** when each request was actually sent, ms from the start (its schedule + the client's lag) */
  readonly sentAtMs: Float64Array
  /** performance.now() (this process's clock) of the schedule's instant 0, after the warm-up */
  readonly startedAtMs: number
  /** how late requests were sent behind their schedule (the client's own lag), ms */
  readonly sendLagMs: { readonly p50: number; readonly p99: number; readonly max: number }
}

export const CDF_POINTS = [...Array.from({ length: 99 }, (_, i) => (i + 1) / 100), 0.995, 0.999, 0.9999, 1]

export const replay = (o: {
  host: string
  port: number
  /** more servers: request i goes to ports[i % ports.length] (round-robin, as a load balancer would); default [port] */
  ports?: ReadonlyArray<number>
  body: string
  schedule: Schedule
  onProgress?: (sent: number, n: number) => void
  /** each answered request: its index, when it was sent (ms from the start), latency µs, status */
  onResponse?: (i: number, sentAtMs: number, latencyUs: number, status: number) => void
  /**
   * keep-alive connections opened to each server before the first request (default
   * WARM_CONNECTIONS): the replay then starts as a long-running client with its connection pool
   * would, instead of opening a connection per concurrent request in the first burst (see
   * WARM_CONNECTIONS). More concurrent requests than this still open new connections.
   */
  warmConnections?: number
}): Promise<ReplayResult> =>
  new Promise((resolve) => {
    const { atMs, target, paths } = o.schedule
    const n = atMs.length
    const ports = o.ports !== undefined && o.ports.length > 0 ? o.ports : [o.port]
    const agent = new Agent({ keepAlive: true, maxSockets: 512 })
    const hist = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 })
    const lag = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 })
    const body = Buffer.from(o.body)
    const headers = { "content-type": "application/json", "content-length": body.length }
    const statuses: Record<string, number> = {}
    const failureSamples: string[] = []
    const sentAtMs = new Float64Array(n)
    let ok = 0
    let errors = 0
    let done = 0
    let next = 0
    let start = performance.now()
    const finish = () => {
      agent.destroy()
      const q = (h: typeof hist, p: number) => h.getValueAtPercentile(p)
      resolve({
        sent: n,
        ok,
        statuses,
        errors,
        seconds: (performance.now() - start) / 1000,
        latencyUs: { p50: q(hist, 50), p90: q(hist, 90), p99: q(hist, 99), p999: q(hist, 99.9), max: hist.maxValue, mean: hist.mean },
        cdf: hist.totalCount === 0 ? [] : CDF_POINTS.map((f) => [q(hist, f * 100), f] as const),
        failureSamples,
        sentAtMs,
        startedAtMs: start,
        sendLagMs: { p50: q(lag, 50) / 1000, p99: q(lag, 99) / 1000, max: lag.maxValue / 1000 }
      })
    }
    const completed = () => {
      if (++done === n) finish()
    }
    const send = (i: number, now: number) => {
      lag.recordValue(Math.max(1, Math.round((now - atMs[i]!) * 1000)))
      const t0 = performance.now()
      sentAtMs[i] = t0 - start
      const req = request({ host: o.host, port: ports[i % ports.length]!, method: "POST", path: paths[target[i]!], agent, headers }, (res) => {
        const failed = (res.statusCode ?? 0) >= 300 && failureSamples.length < 3
        let text = ""
        res.on("data", (d: Buffer) => {
          if (failed) text += d.toString("utf8")
        })
        res.on("end", () => {
          if (failed && failureSamples.length < 3) failureSamples.push(`${res.statusCode}: ${text.slice(0, 300)}`)
          const us = Math.max(1, Math.round((performance.now() - t0) * 1000))
          hist.recordValue(us)
          const s = res.statusCode ?? 0
          o.onResponse?.(i, t0 - start, us, s)
          statuses[s] = (statuses[s] ?? 0) + 1
          if (s >= 200 && s < 300) ok++
          completed()
        })
      })
      req.on("error", () => {
        errors++
        completed()
      })
      req.end(body)
    }
    let lastReport = 0
    const tick = () => {
      const now = performance.now() - start
      while (next < n && atMs[next]! <= now) send(next++, now)
      if (o.onProgress && now - lastReport >= 10_000) {
        lastReport = now
        o.onProgress(next, n)
      }
      if (next < n) setTimeout(tick, Math.max(0, Math.min(atMs[next]! - now, 50)))
    }
    if (n === 0) finish()
    else
      void openConnections(agent, o.host, ports, o.warmConnections ?? WARM_CONNECTIONS).then(() => {
        start = performance.now()
        tick()
      })
  })

/**
 * Why the replay opens its connections first: measured on a fidelity run (default scenario,
 * `--dump`), requests sent in the first 0.25 s that needed a new connection while the server was
 * busy loading the first burst of models took 340–500 ms although their model was loaded within
 * 230 ms, answered one by one 18–60 ms apart, while requests sent a little later on open connections took
 * 10–60 ms. The simulator has no connections (a request arrives at the instance when it is sent),
 * and production clients keep their pools (gRPC channels, keep-alive load balancers), so a replay
 * that opens hundreds of connections in its first burst measures something neither has.
 */
export const WARM_CONNECTIONS = 128

/** `count` requests at once to each port's readiness endpoint: their sockets stay in `agent`'s pool. */
const openConnections = (agent: Agent, host: string, ports: ReadonlyArray<number>, count: number): Promise<void> =>
  new Promise((resolve) => {
    let left = count * ports.length
    if (left === 0) return resolve()
    const done = () => {
      if (--left === 0) resolve()
    }
    for (const port of ports) {
      for (let k = 0; k < count; k++) {
        const r = request({ host, port, method: "GET", path: "/v2/health/ready", agent }, (res) => {
          res.resume()
          res.on("end", done)
        })
        // a connection that fails here is opened again by the replay when needed
        r.on("error", done)
        r.end()
      }
    }
  })

/**
 * `n` requests one after another with the replay's own HTTP client, `gapMs` apart (as in the
 * replay, so both processes go idle in between as they do there): their latencies in ms.
 */
export const sequentialLatencies = async (o: { host: string; port: number; path: string; body: string; n: number; gapMs: number }): Promise<number[]> => {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const body = Buffer.from(o.body)
  const headers = { "content-type": "application/json", "content-length": body.length }
  const out: number[] = []
  try {
    for (let i = 0; i < o.n; i++) {
      if (o.gapMs > 0) await new Promise((r) => setTimeout(r, o.gapMs))
      out.push(
        await new Promise<number>((resolve, reject) => {
          const t0 = performance.now()
          const req = request({ host: o.host, port: o.port, method: "POST", path: o.path, agent, headers }, (res) => {
            res.on("data", () => {})
            res.on("end", () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`${o.path}: status ${res.statusCode}`))))
          })
          req.on("error", reject)
          req.end(body)
        })
      )
    }
  } finally {
    agent.destroy()
  }
  return out
}
