import { Agent, request } from "node:http"
import { build, type Histogram } from "hdr-histogram-js"

/**
 * A closed-loop HTTP client for the cluster part: `connections` loops, each sending one request
 * after the other over keep-alive sockets, each response timed with hrtime into an HDR histogram
 * in µs (autocannon's ms resolution is too coarse for a forwarding hop). Unlike autocannon it
 * spreads requests over several instances and models, and the histogram it records into can be
 * switched mid-run (before / during a drain), keyed by when each request was sent.
 */

export interface Target {
  readonly port: number
  readonly path: string
}

export interface Phase {
  readonly hist: Histogram
  ok: number
  /** non-2xx responses and connection errors, with what they were */
  readonly failures: string[]
}

export const newPhase = (): Phase => ({
  hist: build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 }),
  ok: 0,
  failures: []
})

export interface LoopOptions {
  readonly connections: number
  readonly body: string
  /** the target of the next request of connection `c` */
  readonly next: (c: number) => Target
  readonly timeoutMs?: number
}

export interface RunningLoop {
  /** later requests record into this phase */
  phase: Phase
  /** stops sending; resolves when every in-flight request has finished */
  readonly stop: () => Promise<void>
}

export const startLoop = (o: LoopOptions, first: Phase): RunningLoop => {
  const agents = new Map<number, Agent>()
  const agentFor = (port: number) => {
    let a = agents.get(port)
    if (!a) agents.set(port, (a = new Agent({ keepAlive: true, maxSockets: o.connections })))
    return a
  }
  const body = Buffer.from(o.body)
  const headers = { "content-type": "application/json", "content-length": String(body.length) }
  let stopping = false
  const loop: RunningLoop = { phase: first, stop: async () => {} }

  const once = (t: Target): Promise<void> =>
    new Promise((resolve) => {
      const phase = loop.phase
      const t0 = process.hrtime.bigint()
      const fail = (why: string) => {
        phase.failures.push(`${t.path} via :${t.port}: ${why}`)
        resolve()
      }
      const req = request({ host: "127.0.0.1", port: t.port, path: t.path, method: "POST", headers, agent: agentFor(t.port), timeout: o.timeoutMs ?? 30_000 }, (res) => {
        const chunks: Buffer[] = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("error", (e) => fail(e.message))
        res.on("end", () => {
          const us = Number(process.hrtime.bigint() - t0) / 1000
          const status = res.statusCode ?? 0
          if (status >= 200 && status < 300) {
            phase.ok++
            phase.hist.recordValue(Math.max(1, Math.round(us)))
            resolve()
          } else fail(`${status} ${Buffer.concat(chunks).toString("utf8").slice(0, 200)}`)
        })
      })
      req.on("timeout", () => req.destroy(new Error("timeout")))
      req.on("error", (e) => fail(e.message))
      req.end(body)
    })

  const workers = Array.from({ length: o.connections }, async (_, c) => {
    while (!stopping) await once(o.next(c))
  })
  const stop = async () => {
    stopping = true
    await Promise.all(workers)
    for (const a of agents.values()) a.destroy()
  }
  return Object.assign(loop, { stop })
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** One timed run into a fresh phase. */
export const timedRun = async (o: LoopOptions, ms: number): Promise<Phase> => {
  const p = newPhase()
  const l = startLoop(o, p)
  await sleep(ms)
  await l.stop()
  return p
}

export const pct = (p: Phase, q: number): number => (p.hist.totalCount === 0 ? NaN : p.hist.getValueAtPercentile(q))
