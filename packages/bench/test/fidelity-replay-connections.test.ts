import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { replay } from "../src/fidelity/replay-client.js"

// The fidelity replay opens its keep-alive connections before the first scheduled request, so a
// burst at the start of a trace does not measure connection set-up (which the simulator has no
// notion of). A real HTTP server on loopback counts connections and when each request came.

interface Seen {
  readonly connectionsAt: number[]
  readonly posts: number[]
  readonly readiness: number
}

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
})

/** answers every POST after `holdMs` (so a burst is concurrent), readiness after `readyMs` */
const startServer = async (holdMs: number, readyMs = 0): Promise<{ port: number; seen: Seen }> => {
  const seen = { connectionsAt: [] as number[], posts: [] as number[], readiness: 0 }
  const server = createServer((req, res) => {
    req.resume()
    req.on("end", () => {
      if (req.method === "GET") {
        seen.readiness++
        setTimeout(() => res.end(""), readyMs)
        return
      }
      seen.posts.push(performance.now())
      setTimeout(() => res.end('{"outputs":[]}'), holdMs)
    })
  })
  server.on("connection", () => seen.connectionsAt.push(performance.now()))
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  return { port: (server.address() as AddressInfo).port, seen }
}

/** `n` requests all due at once on one path */
const burst = (n: number) => ({ atMs: new Float64Array(n), target: new Int32Array(n), paths: ["/v2/models/m/infer"] })

/** a burst of 20 against a server that holds each answer 30 ms, after `warmConnections` */
const burstOf20 = async (warmConnections: number) => {
  const { port, seen } = await startServer(30)
  const r = await replay({ host: "127.0.0.1", port, body: "{}", schedule: burst(20), warmConnections })
  return { r, seen }
}

describe("the fidelity replay client's connections", () => {
  it("opens its pool before the first request, so a burst at the start opens no new connection", async () => {
    const { r, seen } = await burstOf20(24)
    expect(r.ok).toBe(20)
    expect(seen.readiness).toBe(24)
    expect(seen.connectionsAt.length).toBe(24)
    const firstPost = Math.min(...seen.posts)
    expect(seen.connectionsAt.every((t) => t < firstPost)).toBe(true)
  })

  it("without a warm pool, each concurrent request of the burst opens its own connection", async () => {
    const { r, seen } = await burstOf20(0)
    expect(r.ok).toBe(20)
    expect(seen.readiness).toBe(0)
    expect(seen.connectionsAt.length).toBe(20)
  })

  it("times requests from the end of the warm-up: sends stay on schedule", async () => {
    const { port } = await startServer(0, 200)
    const schedule = { atMs: Float64Array.from([0, 20, 40]), target: new Int32Array(3), paths: ["/v2/models/m/infer"] }
    const r = await replay({ host: "127.0.0.1", port, body: "{}", schedule, warmConnections: 64 })
    expect(r.ok).toBe(3)
    // the warm-up took 200 ms and is not counted as lag (the schedule starts after it)
    for (let i = 0; i < 3; i++) expect(r.sentAtMs[i]! - schedule.atMs[i]!).toBeLessThan(100)
    expect(r.sendLagMs.max).toBeLessThan(100)
  })
})
