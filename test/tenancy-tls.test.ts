/**
 * TLS on the real server with a throwaway CA made by openssl: REST over https and gRPC over TLS
 * with --tls-cert/--tls-key; with --tls-client-ca (mutual TLS) a client without a certificate,
 * or with one from another CA, is refused on both transports while a client certificate signed
 * by the CA is served. Tokens still apply on top of TLS.
 */
import { join } from "node:path"
import { readFileSync } from "node:fs"
import * as grpc from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { inferBody, removeDir, startServer, tempDir, writeModel, type Served } from "./server-harness.js"
import { grpcCall, grpcClient, grpcInferRequest, httpsCall, makeCertificates, writeTenantsFile, type TlsFiles } from "./tenancy-harness.js"

let dir = ""
let certs: TlsFiles
let tls: Served
let mtls: Served

beforeAll(async () => {
  dir = await tempDir("tenancy-tls")
  certs = makeCertificates(dir)
  await writeModel(join(dir, "m.onnx"), 64 * 1024, 1)
  const tenants = writeTenantsFile(dir, "tls-admin", [])
  const common = ["--models", dir, "--memory", "64MiB", "--log-level", "warn", "--tls-cert", certs.serverCert, "--tls-key", certs.serverKey]
  ;[tls, mtls] = await Promise.all([
    startServer([...common, "--data-dir", join(dir, "d1")]),
    startServer([...common, "--data-dir", join(dir, "d2"), "--tls-client-ca", certs.ca, "--tenants", tenants])
  ])
}, 180_000)
afterAll(async () => {
  await Promise.all([tls?.stop(), mtls?.stop()])
  if (dir) await removeDir(dir)
})

const grpcTls = (port: number, client?: { cert: string; key: string }) =>
  grpcClient(
    port,
    grpc.credentials.createSsl(readFileSync(certs.ca), client ? readFileSync(client.key) : null, client ? readFileSync(client.cert) : null)
  )

describe("TLS", () => {
  it("serves REST over https and says so in the ready line; plain http is not answered", async () => {
    expect(tls.readyLine).toMatch(/^meshkit serve: listening https:\/\/127\.0\.0\.1:\d+ /)
    const r = await httpsCall(tls.url, "/v2/models/m/infer", { ca: certs.ca, body: inferBody() })
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body).outputs[0].shape).toEqual([1, 10])
    await expect(fetch(tls.url.replace("https:", "http:") + "/v2/health/live", { signal: AbortSignal.timeout(10_000) })).rejects.toThrow()
    // A client that does not trust the CA refuses the server.
    await expect(fetch(`${tls.url}/v2/health/live`)).rejects.toThrow()
  })

  it("serves gRPC over TLS", async () => {
    const c = grpcTls(tls.grpcPort!)
    try {
      expect((await grpcCall(c, "ModelInfer", grpcInferRequest("m"))).outputs).toHaveLength(1)
    } finally {
      c.close()
    }
    const insecure = grpcClient(tls.grpcPort!)
    try {
      await expect(grpcCall(insecure, "ServerLive", {})).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE })
    } finally {
      insecure.close()
    }
  })
})

describe("mutual TLS", () => {
  const client = () => ({ cert: certs.clientCert, key: certs.clientKey })

  it("REST: refuses clients without a certificate or with another CA's, serves the CA's (tokens on top)", async () => {
    await expect(httpsCall(mtls.url, "/v2/health/live", { ca: certs.ca })).rejects.toThrow()
    await expect(httpsCall(mtls.url, "/v2/health/live", { ca: certs.ca, cert: certs.strangerCert, key: certs.strangerKey })).rejects.toThrow()
    expect((await httpsCall(mtls.url, "/v2/health/live", { ca: certs.ca, ...client() })).status).toBe(200)
    expect((await httpsCall(mtls.url, "/v2/models/m/infer", { ca: certs.ca, ...client(), body: inferBody() })).status).toBe(401)
    const ok = await httpsCall(mtls.url, "/v2/models/m/infer", { ca: certs.ca, ...client(), token: "tls-admin", body: inferBody() })
    expect(ok.status).toBe(200)
  })

  it("gRPC: refuses clients without a certificate, serves the CA's", async () => {
    const anonymous = grpcTls(mtls.grpcPort!)
    try {
      await expect(grpcCall(anonymous, "ServerLive", {})).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE })
    } finally {
      anonymous.close()
    }
    const c = grpcTls(mtls.grpcPort!, client())
    try {
      expect(await grpcCall(c, "ServerLive", {})).toEqual({ live: true })
      await expect(grpcCall(c, "ModelInfer", grpcInferRequest("m"))).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED })
      expect((await grpcCall(c, "ModelInfer", grpcInferRequest("m"), "tls-admin")).outputs).toHaveLength(1)
    } finally {
      c.close()
    }
  })
})
