import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { FORWARD_HEADERS, forwardContextOf, PeerForwarder } from "../src/cluster/forwarder.js"

/** A peer on a real socket: echoes what it received, or refuses when asked to. */
let peer: Server
let peerUrl = ""
const connections = new Set<unknown>()
const seen: { headers: IncomingMessage["headers"]; body: Buffer }[] = []

beforeAll(async () => {
  peer = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const body = Buffer.concat(chunks)
      seen.push({ headers: req.headers, body })
      if (req.url?.includes("refuse")) {
        res.writeHead(409, { [FORWARD_HEADERS.refused]: "not-here", "content-type": "application/json" })
        res.end(JSON.stringify({ error: "not here" }))
        return
      }
      res.writeHead(200, { "content-type": "application/octet-stream", "inference-header-content-length": "7" })
      res.end(Buffer.concat([Buffer.from("echo:"), body]))
    })
  })
  peer.on("connection", (s) => connections.add(s))
  await new Promise<void>((r) => peer.listen(0, "127.0.0.1", () => r()))
  peerUrl = `http://127.0.0.1:${(peer.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => peer.close(() => r())))

const sink = () => {
  const out = { status: 0, headers: {} as Record<string, string | string[]>, body: Buffer.alloc(0) as Buffer, headersSent: false }
  return {
    out,
    writeHead(status: number, headers: Record<string, string | string[]>) {
      out.status = status
      out.headers = headers
      out.headersSent = true
    },
    end(body: Buffer) {
      out.body = body
    },
    get headersSent() {
      return out.headersSent
    }
  }
}

const CLIENT = forwardContextOf({})

describe("peer forwarder", () => {
  it("sends the raw body unchanged with the next hop's context, and passes the answer back unchanged", async () => {
    const f = new PeerForwarder("self", { timeoutMs: 5000 })
    const body = Buffer.from([0, 1, 2, 255, 254, 10, 13])
    const s = sink()
    const r = await f.forward({ id: "p", url: peerUrl }, "/v2/models/m/infer", { "content-type": "application/octet-stream", "inference-header-content-length": "3", cookie: "secret" }, body, CLIENT, "hit", s)
    expect(r).toEqual({ kind: "answered", status: 200 })
    const got = seen.at(-1)!
    expect(got.body.equals(body)).toBe(true)
    expect(forwardContextOf(got.headers)).toEqual({ hops: 1, tried: ["self"], failed: [], mode: "hit", from: "self" })
    expect(got.headers["inference-header-content-length"]).toBe("3")
    expect(got.headers.cookie).toBeUndefined()
    expect(s.out.status).toBe(200)
    expect(s.out.headers["inference-header-content-length"]).toBe("7")
    expect(s.out.body.equals(Buffer.concat([Buffer.from("echo:"), body]))).toBe(true)
    f.close()
  })

  it("keeps connections to a peer alive and reuses them", async () => {
    const f = new PeerForwarder("self", { timeoutMs: 5000 })
    const before = connections.size
    for (let i = 0; i < 20; i++) await f.forward({ id: "p", url: peerUrl }, "/x", {}, Buffer.from("a"), CLIENT, "hit", sink())
    expect(connections.size - before).toBe(1)
    f.close()
  })

  it("adds itself to the tried list and counts hops along a chain", async () => {
    const f = new PeerForwarder("b", { timeoutMs: 5000 })
    await f.forward({ id: "p", url: peerUrl }, "/x", {}, Buffer.from("a"), { hops: 1, tried: ["a"], failed: [], mode: "hit", from: "a" }, "load", sink())
    expect(forwardContextOf(seen.at(-1)!.headers)).toEqual({ hops: 2, tried: ["a", "b"], failed: [], mode: "load", from: "b" })
    f.close()
  })

  it("reports a refusal without writing anything to the client", async () => {
    const f = new PeerForwarder("self", { timeoutMs: 5000 })
    const s = sink()
    const r = await f.forward({ id: "p", url: peerUrl }, "/refuse", {}, Buffer.from("a"), CLIENT, "hit", s)
    expect(r).toMatchObject({ kind: "failed", refusal: "not-here" })
    expect(s.out.headersSent).toBe(false)
    f.close()
  })

  it("reports an unreachable peer as failed, with its address, without writing to the client", async () => {
    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((r) => closed.close(() => r()))
    const f = new PeerForwarder("self", { timeoutMs: 2000 })
    const s = sink()
    const r = await f.forward({ id: "gone", url: `http://127.0.0.1:${port}` }, "/x", {}, Buffer.from("a"), CLIENT, "hit", s)
    expect(r.kind).toBe("failed")
    expect(r.kind === "failed" && r.reason).toMatch(/gone.*ECONNREFUSED/)
    expect(s.out.headersSent).toBe(false)
    expect(f.sent.get("gone")).toMatchObject({ ok: 0, failed: 1 })
    f.close()
  })

  it("gives up on a peer that does not answer within the timeout", async () => {
    const silent = createServer(() => {
      /* never answers */
    })
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()))
    const f = new PeerForwarder("self", { timeoutMs: 300 })
    const t0 = Date.now()
    const r = await f.forward({ id: "slow", url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` }, "/x", {}, Buffer.from("a"), CLIENT, "hit", sink())
    expect(r.kind).toBe("failed")
    expect(Date.now() - t0).toBeLessThan(3000)
    f.close()
    silent.closeAllConnections()
    await new Promise<void>((res) => silent.close(() => res()))
  })
})
