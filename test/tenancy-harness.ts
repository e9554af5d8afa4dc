/**
 * Test support for the tenancy end-to-end tests: tenants files with real token digests, REST
 * calls with a bearer token (over http, or https with a CA and an optional client certificate),
 * gRPC clients with `authorization` metadata, and a throwaway CA with server and client
 * certificates made by openssl.
 */
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import { readFileSync, writeFileSync } from "node:fs"
import { request as httpsRequest } from "node:https"
import { join } from "node:path"
import * as grpc from "@grpc/grpc-js"
import { grpcChannelOptions, loadGrpcDefinition } from "@meshkit/server"

export const sha256 = (token: string): string => createHash("sha256").update(token).digest("hex")

export interface TenantSpecForTest {
  readonly id: string
  readonly token: string
  readonly memory?: string | number
  readonly maxConcurrency?: number
  readonly requestsPerSecond?: number
  readonly priority?: number
}

/** Write a tenants file (YAML) holding only digests; returns its path. */
export const writeTenantsFile = (dir: string, adminToken: string, tenants: ReadonlyArray<TenantSpecForTest>, peerToken?: string): string => {
  const lines = [`admin: { tokenSha256: "${sha256(adminToken)}" }`]
  if (peerToken !== undefined) lines.push(`peer: { tokenSha256: "${sha256(peerToken)}" }`)
  lines.push("tenants:")
  for (const t of tenants) {
    lines.push(`  - id: ${t.id}`, `    tokenSha256: "${sha256(t.token)}"`)
    for (const k of ["memory", "maxConcurrency", "requestsPerSecond", "priority"] as const) if (t[k] !== undefined) lines.push(`    ${k}: ${t[k]}`)
  }
  const path = join(dir, "tenants.yaml")
  writeFileSync(path, lines.join("\n") + "\n")
  return path
}

/** REST with a bearer token (none when `token` is undefined). */
export const call = (url: string, path: string, token: string | undefined, init: { method?: string; body?: string } = {}) =>
  fetch(`${url}${path}`, {
    method: init.method ?? (init.body !== undefined ? "POST" : "GET"),
    ...(init.body !== undefined ? { body: init.body } : {}),
    headers: { "content-type": "application/json", ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    signal: AbortSignal.timeout(60_000)
  })

export interface TlsFiles {
  readonly dir: string
  readonly ca: string
  readonly serverCert: string
  readonly serverKey: string
  readonly clientCert: string
  readonly clientKey: string
  /** a certificate from another CA: must be refused by a server requiring client certificates */
  readonly strangerCert: string
  readonly strangerKey: string
}

/** A throwaway CA, a server certificate for 127.0.0.1 (also usable as a peer's client certificate) and a client certificate. */
export const makeCertificates = (dir: string): TlsFiles => {
  const p = (f: string) => join(dir, f)
  const ssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] })
  const ca = (name: string) => {
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p(`${name}.key`), "-out", p(`${name}.pem`), "-days", "2", "-subj", `/CN=${name}`)
  }
  const leaf = (name: string, signer: string, ext: string) => {
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", p(`${name}.key`), "-out", p(`${name}.csr`), "-subj", `/CN=${name}`)
    writeFileSync(p(`${name}.ext`), ext)
    ssl("x509", "-req", "-in", p(`${name}.csr`), "-CA", p(`${signer}.pem`), "-CAkey", p(`${signer}.key`), "-CAcreateserial", "-out", p(`${name}.pem`), "-days", "2", "-extfile", p(`${name}.ext`))
  }
  ca("test-ca")
  ca("stranger-ca")
  leaf("server", "test-ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n")
  leaf("client", "test-ca", "extendedKeyUsage=clientAuth\n")
  leaf("stranger", "stranger-ca", "extendedKeyUsage=clientAuth\n")
  return {
    dir,
    ca: p("test-ca.pem"),
    serverCert: p("server.pem"),
    serverKey: p("server.key"),
    clientCert: p("client.pem"),
    clientKey: p("client.key"),
    strangerCert: p("stranger.pem"),
    strangerKey: p("stranger.key")
  }
}

/** An https request trusting `ca` (and presenting a client certificate when given). */
export const httpsCall = (
  url: string,
  path: string,
  o: { ca: string; cert?: string; key?: string; token?: string; method?: string; body?: string; headers?: Record<string, string> }
): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, url),
      {
        method: o.method ?? (o.body !== undefined ? "POST" : "GET"),
        ca: readFileSync(o.ca),
        ...(o.cert ? { cert: readFileSync(o.cert), key: readFileSync(o.key!) } : {}),
        headers: { "content-type": "application/json", ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers },
        timeout: 60_000,
        agent: false
      },
      (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (c: string) => (body += c))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
        res.on("error", reject)
      }
    )
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", reject)
    req.end(o.body)
  })

export type GrpcClient = grpc.Client & Record<string, Function>

export const grpcClient = (port: number, credentials = grpc.credentials.createInsecure()): GrpcClient => {
  const { GRPCInferenceService } = loadGrpcDefinition()
  return new GRPCInferenceService(`127.0.0.1:${port}`, credentials, grpcChannelOptions) as GrpcClient
}

/** One unary call with `authorization: Bearer <token>` (none when undefined). */
export const grpcCall = <T = any>(client: GrpcClient, method: string, request: unknown, token?: string): Promise<T> => {
  const md = new grpc.Metadata()
  if (token !== undefined) md.set("authorization", `Bearer ${token}`)
  return new Promise((resolve, reject) =>
    client[method]!(request, md, { deadline: Date.now() + 60_000 }, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)))
  )
}

/** A gRPC ModelInfer request for the generated models (input "input" [1, 64]). */
export const grpcInferRequest = (model: string) => ({
  model_name: model,
  inputs: [{ name: "input", datatype: "FP32", shape: [1, 64], contents: { fp32_contents: Array.from({ length: 64 }, (_, i) => Math.sin(i) / 2) } }]
})
