/**
 * What a forward carries for tenancy, on a real socket: the peer token as the authorization
 * (never the client's own token) and the tenant the request is for, as this instance
 * authenticated it.
 */
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, expect, it } from "vitest"
import { forwardContextOf, PeerForwarder } from "../src/cluster/forwarder.js"
import { TENANT_HEADER } from "../src/tenancy/tenants.js"

let peer: Server
let peerUrl = ""
const seen: IncomingMessage["headers"][] = []

beforeAll(async () => {
  peer = createServer((req, res) => {
    req.resume()
    req.on("end", () => {
      seen.push(req.headers)
      res.writeHead(200, { "content-type": "application/json" })
      res.end("{}")
    })
  })
  await new Promise<void>((r) => peer.listen(0, "127.0.0.1", () => r()))
  peerUrl = `http://127.0.0.1:${(peer.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => peer.close(() => r())))

const sink = () => ({ headersSent: false, writeHead: () => undefined, end: () => undefined })

it("sends the peer token instead of the client's, and the authenticated tenant", async () => {
  const f = new PeerForwarder("self", { timeoutMs: 5000, authorization: "Bearer the-peer-token" })
  const clientHeaders = { authorization: "Bearer the-clients-token", [TENANT_HEADER]: "acme", "content-type": "application/json" }
  const r = await f.forward({ id: "p", url: peerUrl }, "/v2/models/m/infer", clientHeaders, Buffer.from("{}"), forwardContextOf({}), "hit", sink())
  expect(r.kind).toBe("answered")
  expect(seen[0]!.authorization).toBe("Bearer the-peer-token")
  expect(seen[0]![TENANT_HEADER]).toBe("acme")
  // Copy requests carry the peer token too.
  expect(await f.post(peerUrl, "/v2/internal/copies/m", { "content-type": "application/json" }, "{}", 5000)).toBe(200)
  expect(seen[1]!.authorization).toBe("Bearer the-peer-token")
  f.close()
})

it("without tenancy, sends no authorization at all", async () => {
  const f = new PeerForwarder("self", { timeoutMs: 5000 })
  await f.forward({ id: "p", url: peerUrl }, "/x", { authorization: "Bearer leaked?" }, Buffer.from(""), forwardContextOf({}), "hit", sink())
  expect(seen.at(-1)!.authorization).toBeUndefined()
  f.close()
})
