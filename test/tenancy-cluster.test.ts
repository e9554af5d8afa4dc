/**
 * Tenancy in cluster mode: a real etcd and two real `meshkit serve --etcd` instances reading the
 * same tenants file, over mutual TLS. A tenant's request at the instance that does not hold its
 * model is forwarded over https (each peer showing its certificate, checked against the CA) with
 * the peer token and the tenant it is for; the tenant is served from either instance, another
 * tenant gets 404 from both (REST and gRPC), a client cannot pass itself off as another tenant
 * with the peer header, and an instance without the right peer token does not start.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { readFileSync } from "node:fs"
import * as grpc from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startEtcd, type EtcdServer } from "../packages/server/test/support/etcd.js"
import { inferBody, removeDir, serveFails, startServer, tempDir, writeModel, type Served } from "./server-harness.js"
import { grpcCall, grpcClient, grpcInferRequest, httpsCall, makeCertificates, writeTenantsFile, type TlsFiles } from "./tenancy-harness.js"

const ADMIN = "cluster-admin-token"
const PEER = "cluster-peer-token"
const ACME = "cluster-acme-token"
const BETA = "cluster-beta-token"

let dir = ""
let etcd: EtcdServer
let certs: TlsFiles
let tenantsFile = ""
const instances: Served[] = []

const args = (i: number) => [
  "--models", dir,
  "--tenants", tenantsFile,
  "--etcd", etcd.endpoint,
  "--instance-id", `tenancy-${i}`,
  "--memory", "64MiB",
  "--scaling", "off",
  "--lease-ttl", "3s",
  "--data-dir", join(dir, `data-${i}`),
  "--tls-cert", certs.serverCert,
  "--tls-key", certs.serverKey,
  "--tls-client-ca", certs.ca,
  "--log-level", "warn"
]

beforeAll(async () => {
  dir = await tempDir("tenancy-cluster")
  certs = makeCertificates(dir)
  await writeModel(join(dir, "a-one.onnx"), 128 * 1024, 1)
  await writeFile(join(dir, "a-one.json"), JSON.stringify({ tenant: "acme" }))
  await writeModel(join(dir, "b-one.onnx"), 128 * 1024, 2)
  await writeFile(join(dir, "b-one.json"), JSON.stringify({ tenant: "beta" }))
  tenantsFile = writeTenantsFile(dir, ADMIN, [
    { id: "acme", token: ACME },
    { id: "beta", token: BETA }
  ], PEER)
  etcd = await startEtcd()
  for (let i = 0; i < 2; i++) instances.push(await startServer(args(i), { MESHKIT_PEER_TOKEN: PEER }))
}, 240_000)

afterAll(async () => {
  await Promise.all(instances.map((s) => s.stop()))
  await etcd?.dispose()
  if (dir) await removeDir(dir)
}, 60_000)

const tls = () => ({ ca: certs.ca, cert: certs.clientCert, key: certs.clientKey })
const inferAt = (i: number, model: string, token: string, extra: Record<string, string> = {}) =>
  httpsCall(instances[i]!.url, `/v2/models/${model}/infer`, { ...tls(), token, body: inferBody(), ...extra })

/** Forwards this instance answered through a peer, from its /metrics (open: it names no model). */
const forwardsFrom = async (i: number): Promise<number> => {
  const text = (await httpsCall(instances[i]!.url, "/metrics", tls())).body
  let n = 0
  for (const m of text.matchAll(/^meshkit_forwarded_requests_total\{[^}]*outcome="answered"[^}]*\} (\d+)/gm)) n += Number(m[1])
  return n
}

describe("tenancy across instances", () => {
  it("serves a tenant's model from either instance, forwarding over mutual TLS with the tenant", async () => {
    const first = await inferAt(0, "a-one", ACME)
    expect(first.status, first.body).toBe(200)
    const status = JSON.parse((await httpsCall(instances[0]!.url, "/v1/models/a-one", { ...tls(), token: ADMIN })).body)
    const holders = Object.keys(status.copies ?? {})
    expect(holders).toHaveLength(1)
    for (let i = 0; i < 2; i++) {
      const r = await inferAt(i, "a-one", ACME)
      expect(r.status, r.body).toBe(200)
      expect(JSON.parse(r.body).outputs[0].shape).toEqual([1, 10])
    }
    expect((await forwardsFrom(0)) + (await forwardsFrom(1))).toBeGreaterThan(0)
  })

  it("another tenant gets 404 from both instances; the header cannot be spoofed", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await inferAt(i, "a-one", BETA)
      expect(r.status).toBe(404)
      expect(JSON.parse(r.body)).toMatchObject({ error: 'model "a-one" is not registered' })
      // The tenant header is only believed with the peer token.
      const spoofed = await httpsCall(instances[i]!.url, "/v2/models/a-one/infer", { ...tls(), token: BETA, body: inferBody(), headers: { "x-meshkit-tenant": "acme" } })
      expect(spoofed.status).toBe(404)
      expect((await httpsCall(instances[i]!.url, "/v1/models", { ...tls(), token: BETA })).body).not.toContain("a-one")
    }
  })

  it("a peer's tenant header is believed with the peer token only, and decides visibility", async () => {
    const asPeer = (tenant: string) => httpsCall(instances[1]!.url, "/v2/models/a-one/infer", { ...tls(), token: PEER, body: inferBody(), headers: { "x-meshkit-tenant": tenant } })
    expect((await asPeer("acme")).status).toBe(200)
    expect((await asPeer("beta")).status).toBe(404)
    expect((await asPeer("no-such-tenant")).status).toBe(401)
  })

  it("internal peer routes refuse tenants and anonymous callers", async () => {
    const copy = await httpsCall(instances[0]!.url, "/v2/internal/copies/a-one", { ...tls(), token: ACME, body: "{}" })
    expect(copy.status).toBe(403)
    const anonymous = await httpsCall(instances[0]!.url, "/v2/internal/grpc/infer/a-one", { ...tls(), body: "" })
    expect(anonymous.status).toBe(401)
  })

  it("gRPC calls are forwarded with the tenant too", async () => {
    const creds = grpc.credentials.createSsl(readFileSync(certs.ca), readFileSync(certs.clientKey), readFileSync(certs.clientCert))
    const before = (await forwardsFrom(0)) + (await forwardsFrom(1))
    // b-one is loaded wherever placement puts it; asked at both instances' gRPC ports, one of them forwards.
    for (const s of instances) {
      const c = grpcClient(s.grpcPort!, creds)
      try {
        expect((await grpcCall(c, "ModelInfer", grpcInferRequest("b-one"), BETA)).outputs).toHaveLength(1)
        await expect(grpcCall(c, "ModelInfer", grpcInferRequest("b-one"), ACME)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND })
      } finally {
        c.close()
      }
    }
    expect((await forwardsFrom(0)) + (await forwardsFrom(1))).toBeGreaterThan(before)
  })

  it("an instance without the right peer token does not start", async () => {
    const wrong = await serveFails(args(9), { MESHKIT_PEER_TOKEN: "not-the-peer-token" })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain("MESHKIT_PEER_TOKEN matches neither the peer nor the admin token")
    const missing = await serveFails(args(9), { MESHKIT_PEER_TOKEN: "" })
    expect(missing.stderr).toContain("set MESHKIT_PEER_TOKEN")
  }, 120_000)
})
