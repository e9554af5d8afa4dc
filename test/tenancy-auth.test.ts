/**
 * Tenants end to end on one real `meshkit serve --tenants FILE`, over real sockets (REST and
 * gRPC): no or a wrong token is 401 / UNAUTHENTICATED (health stays open); a tenant sees and
 * calls only its own models — another tenant's model answers exactly like a missing one on
 * every route — while the admin manages everything; ids are one namespace (409 without naming
 * the holder); and each tenant's request rate and concurrency limits answer 429 with Retry-After.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import * as grpc from "@grpc/grpc-js"
import { afterAll, describe, expect, it } from "vitest"
import { inferBody, json, withServer, writeModel } from "./server-harness.js"
import { call, grpcCall, grpcClient, grpcInferRequest, writeTenantsFile, type GrpcClient } from "./tenancy-harness.js"

const ADMIN = "admin-secret-token"
const ACME = "acme-secret-token"
const BETA = "beta-secret-token"
const SLOW = "slow-secret-token"
const NARROW = "narrow-secret-token"

let client: GrpcClient
const fixture = withServer("tenancy-auth", {
  prepare: async (dir) => {
    const owned: Record<string, string | undefined> = { "a-one": "acme", "b-one": "beta", "b-two": "beta", shared: undefined, "s-one": "slow" }
    let seed = 1
    for (const [id, tenant] of Object.entries(owned)) {
      await writeModel(join(dir, `${id}.onnx`), 128 * 1024, seed++)
      if (tenant !== undefined) await writeFile(join(dir, `${id}.json`), JSON.stringify({ tenant }))
    }
    // Big enough that its first load keeps a request in flight while a second one arrives.
    await writeModel(join(dir, "n-big.onnx"), 24 * 1024 * 1024, 9)
    await writeFile(join(dir, "n-big.json"), JSON.stringify({ tenant: "narrow" }))
    writeTenantsFile(dir, ADMIN, [
      { id: "acme", token: ACME, priority: 2 },
      { id: "beta", token: BETA },
      { id: "slow", token: SLOW, requestsPerSecond: 1 },
      { id: "narrow", token: NARROW, maxConcurrency: 1 }
    ])
  },
  args: (dir) => ["--models", dir, "--tenants", join(dir, "tenants.yaml"), "--memory", "256MiB", "--data-dir", join(dir, "data"), "--log-level", "warn"],
  ready: async ({ server }) => {
    client = grpcClient(server.grpcPort!)
  }
})
afterAll(() => client?.close())

const url = () => fixture.server.url
const ids = async (res: Response): Promise<string[]> => ((await res.json()) as Array<{ id?: string; name?: string }>).map((m) => (m.id ?? m.name)!).sort()

/** A response as the caller sees it, with `name` replaced: to compare "not yours" with "missing" byte for byte. */
/** Every request gets its own request id (header and error body): the rest must be identical. */
const withoutRequestId = (text: string) => text.replace(/,"requestId":"[^"]*"/, "")
const seen = async (res: Response, name: string) => ({
  status: res.status,
  kind: res.headers.get("x-meshkit-kind"),
  type: res.headers.get("content-type"),
  body: withoutRequestId(await res.text()).split(name).join("<name>")
})

describe("authentication", () => {
  it("answers 401 with WWW-Authenticate without a token or with a wrong one, on both planes", async () => {
    for (const token of [undefined, "not-a-token", `${ACME}x`]) {
      for (const [path, body] of [
        ["/v2/models/a-one/infer", inferBody()],
        ["/v2/models/a-one", undefined],
        ["/v1/models", undefined],
        ["/v2/repository/index", "{}"],
        ["/v2", undefined]
      ] as const) {
        const res = await call(url(), path, token, body === undefined ? {} : { body })
        expect(res.status, `${path} with ${token}`).toBe(401)
        expect(res.headers.get("www-authenticate")).toBe("Bearer")
        expect(await res.json()).toEqual({ error: expect.stringContaining("Authorization: Bearer") })
      }
    }
    const plain = await fetch(`${url()}/v1/models`, { headers: { authorization: `Basic ${Buffer.from(`x:${ACME}`).toString("base64")}` } })
    expect(plain.status).toBe(401)
  })

  it("keeps health open, and /metrics while it names no model", async () => {
    expect((await call(url(), "/v2/health/live", undefined)).status).toBe(200)
    expect((await call(url(), "/v2/health/ready", undefined)).status).toBe(200)
    const m = await call(url(), "/metrics", undefined)
    expect(m.status).toBe(200)
    expect(await m.text()).toContain("meshkit_")
  })

  it("labels request series with the tenant, never a token or a model", async () => {
    expect((await call(url(), "/v2/models/a-one/infer", ACME, { body: inferBody() })).status).toBe(200)
    const text = await (await call(url(), "/metrics", undefined)).text()
    expect(text).toMatch(/meshkit_requests_total\{status="200",transport="http",tenant="acme"\} [1-9]/)
    expect(text).not.toContain(ACME)
    expect(text).not.toMatch(/model="/)
  })

  it("gRPC: UNAUTHENTICATED without a token, health open", async () => {
    expect(await grpcCall(client, "ServerLive", {})).toEqual({ live: true })
    expect(await grpcCall(client, "ServerReady", {})).toEqual({ ready: true })
    for (const [method, req] of [
      ["ModelInfer", grpcInferRequest("a-one")],
      ["ModelMetadata", { name: "a-one" }],
      ["RepositoryIndex", {}],
      ["ServerMetadata", {}]
    ] as const) {
      await expect(grpcCall(client, method, req)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED })
      await expect(grpcCall(client, method, req, "wrong")).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED })
    }
  })
})

describe("visibility", () => {
  it("lists only the caller's models; the admin sees all", async () => {
    expect(await ids(await call(url(), "/v1/models", ACME))).toEqual(["a-one"])
    expect(await ids(await call(url(), "/v1/models", BETA))).toEqual(["b-one", "b-two"])
    expect(await ids(await call(url(), "/v1/models", ADMIN))).toEqual(["a-one", "b-one", "b-two", "n-big", "s-one", "shared"])
    expect(await ids(await call(url(), "/v2/repository/index", ACME, { body: "{}" }))).toEqual(["a-one"])
    expect(await ids(await call(url(), "/v2/repository/index", ADMIN, { body: "{}" }))).toHaveLength(6)
    const g = await grpcCall<{ models: Array<{ name: string }> }>(client, "RepositoryIndex", {}, BETA)
    expect(g.models.map((m) => m.name).sort()).toEqual(["b-one", "b-two"])
  })

  it("serves a tenant its own model on REST and gRPC", async () => {
    const res = await call(url(), "/v2/models/a-one/infer", ACME, { body: inferBody() })
    expect(res.status).toBe(200)
    expect((await json(res)).outputs[0].shape).toEqual([1, 10])
    const g = await grpcCall(client, "ModelInfer", grpcInferRequest("a-one"), ACME)
    expect(g.outputs[0].shape.map(Number)).toEqual([1, 10])
    expect((await call(url(), "/v2/models/a-one", ACME)).status).toBe(200)
  })

  it("answers another tenant's model exactly like a missing one, on every REST route", async () => {
    // Same-length names, so even the content-length matches.
    const routes: Array<[string, (m: string) => string, string | undefined, string]> = [
      ["metadata", (m) => `/v2/models/${m}`, undefined, "GET"],
      ["ready", (m) => `/v2/models/${m}/ready`, undefined, "GET"],
      ["infer", (m) => `/v2/models/${m}/infer`, inferBody(), "POST"],
      ["repository load", (m) => `/v2/repository/models/${m}/load`, "{}", "POST"],
      ["repository unload", (m) => `/v2/repository/models/${m}/unload`, "{}", "POST"],
      ["status", (m) => `/v1/models/${m}`, undefined, "GET"],
      ["load", (m) => `/v1/models/${m}/load`, "{}", "POST"],
      ["unload", (m) => `/v1/models/${m}/unload`, "{}", "POST"],
      ["delete", (m) => `/v1/models/${m}`, undefined, "DELETE"]
    ]
    for (const [what, path, body, method] of routes) {
      const theirs = await seen(await call(url(), path("b-one"), ACME, { method, ...(body !== undefined ? { body } : {}) }), "b-one")
      const missing = await seen(await call(url(), path("z-one"), ACME, { method, ...(body !== undefined ? { body } : {}) }), "z-one")
      expect(theirs.status, what).toBe(404)
      expect(theirs, what).toEqual(missing)
    }
    // The admin's own models are invisible to tenants too.
    expect((await call(url(), "/v2/models/shared", BETA)).status).toBe(404)
    // Nothing happened to beta's model: still registered, never loaded by acme's calls.
    const status = await (await call(url(), "/v1/models/b-one", BETA)).json()
    expect(status).toMatchObject({ id: "b-one", status: "NOT_LOADED", loads: 0 })
  })

  it("answers another tenant's model exactly like a missing one on gRPC", async () => {
    for (const [method, req] of [
      ["ModelInfer", (m: string) => grpcInferRequest(m)],
      ["ModelMetadata", (m: string) => ({ name: m })],
      ["ModelReady", (m: string) => ({ name: m })],
      ["RepositoryModelLoad", (m: string) => ({ model_name: m })],
      ["RepositoryModelUnload", (m: string) => ({ model_name: m })]
    ] as const) {
      const theirs = await grpcCall(client, method, req("b-one"), ACME).then(
        () => undefined,
        (e: grpc.ServiceError) => ({ code: e.code, details: e.details.split("b-one").join("<name>") })
      )
      const missing = await grpcCall(client, method, req("z-one"), ACME).then(
        () => undefined,
        (e: grpc.ServiceError) => ({ code: e.code, details: e.details.split("z-one").join("<name>") })
      )
      expect(theirs, method).toEqual({ code: grpc.status.NOT_FOUND, details: expect.any(String) })
      expect(theirs, method).toEqual(missing)
    }
  })

  it("lets the admin read, infer, load, unload and delete any tenant's model", async () => {
    expect((await call(url(), "/v2/models/b-two", ADMIN)).status).toBe(200)
    expect((await call(url(), "/v2/models/b-two/infer", ADMIN, { body: inferBody() })).status).toBe(200)
    expect((await grpcCall(client, "ModelInfer", grpcInferRequest("b-two"), ADMIN)).outputs).toHaveLength(1)
    expect((await call(url(), "/v1/models/b-two/unload", ADMIN, { body: "{}" })).status).toBe(200)
    expect((await call(url(), "/v2/repository/models/b-two/load", ADMIN, { body: "{}" })).status).toBe(200)
    await grpcCall(client, "RepositoryModelUnload", { model_name: "b-two" }, ADMIN)
    expect(await grpcCall(client, "ModelReady", { name: "b-two" }, BETA)).toEqual({ ready: false })
  })
})

describe("registration: one namespace, owned by the caller", () => {
  it("forces a tenant's registration to its own tenant, and refuses a taken id with 409 without naming the holder", async () => {
    const dir = fixture.dir
    await writeModel(join(dir, "extra.onnx"), 64 * 1024, 21)
    const res = await call(url(), "/v1/models", ACME, { body: JSON.stringify({ id: "acme-extra", uri: join(dir, "extra.onnx"), tenant: "beta" }) })
    expect(res.status).toBe(201)
    expect(await res.json()).toMatchObject({ id: "acme-extra", tenant: "acme" })
    expect(await ids(await call(url(), "/v1/models", ACME))).toEqual(["a-one", "acme-extra"])
    expect(await ids(await call(url(), "/v1/models", BETA))).not.toContain("acme-extra")

    for (const id of ["acme-extra", "shared"]) {
      const taken = await call(url(), "/v1/models", BETA, { body: JSON.stringify({ id, uri: join(dir, "extra.onnx") }) })
      expect(taken.status).toBe(409)
      const text = withoutRequestId(await taken.text()).split(id).join("<id>")
      expect(text).toBe(JSON.stringify({ error: 'model "<id>" is already registered' }))
    }
    // The admin may register for a tenant.
    const forBeta = await call(url(), "/v1/models", ADMIN, { body: JSON.stringify({ id: "beta-extra", uri: join(dir, "extra.onnx"), tenant: "beta" }) })
    expect(forBeta.status).toBe(201)
    expect(await ids(await call(url(), "/v1/models", BETA))).toContain("beta-extra")
    // Acme deletes its own model; beta could not.
    expect((await call(url(), "/v1/models/acme-extra", BETA, { method: "DELETE" })).status).toBe(404)
    expect((await call(url(), "/v1/models/acme-extra", ACME, { method: "DELETE" })).status).toBe(200)
  })

  it("vmodels: a tenant points them at its own models only, and sees only its own", async () => {
    const put = (token: string, id: string, target: string) => call(url(), `/v1/vmodels/${id}`, token, { method: "PUT", body: JSON.stringify({ target }) })
    expect((await put(ACME, "acme-live", "a-one")).status).toBe(200)
    expect((await put(BETA, "beta-live", "a-one")).status).toBe(404)
    expect((await put(BETA, "acme-live", "b-one")).status).toBe(409)
    expect(await ids(await call(url(), "/v1/vmodels", BETA))).toEqual([])
    expect(await ids(await call(url(), "/v1/vmodels", ACME))).toEqual(["acme-live"])
    expect((await call(url(), "/v1/vmodels/acme-live", BETA)).status).toBe(404)
    expect((await call(url(), "/v2/models/acme-live/infer", BETA, { body: inferBody() })).status).toBe(404)
    expect((await call(url(), "/v2/models/acme-live/infer", ACME, { body: inferBody() })).status).toBe(200)
    expect((await call(url(), "/v1/vmodels/acme-live", BETA, { method: "DELETE" })).status).toBe(404)
    expect((await call(url(), "/v1/vmodels/acme-live", ACME, { method: "DELETE" })).status).toBe(200)
  })

  it("the cluster view is the admin's only", async () => {
    expect((await call(url(), "/v1/cluster", ACME)).status).toBe(403)
    expect((await call(url(), "/v1/cluster", ADMIN)).status).toBe(404) // one server: no cluster
  })
})

describe("limits", () => {
  it("requestsPerSecond: 429 with Retry-After beyond the bucket, on REST and gRPC; other tenants unaffected", async () => {
    const first = await call(url(), "/v2/models/s-one/infer", SLOW, { body: inferBody() })
    expect(first.status).toBe(200)
    const second = await call(url(), "/v2/models/s-one/infer", SLOW, { body: inferBody() })
    expect(second.status).toBe(429)
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    expect((await json(second)).error).toContain("requests per second")
    await expect(grpcCall(client, "ModelInfer", grpcInferRequest("s-one"), SLOW)).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED })
    expect((await call(url(), "/v2/models/a-one/infer", ACME, { body: inferBody() })).status).toBe(200)
    // A token comes back after a second.
    await new Promise((r) => setTimeout(r, 1100))
    expect((await call(url(), "/v2/models/s-one/infer", SLOW, { body: inferBody() })).status).toBe(200)
  })

  it("maxConcurrency: a request beyond the tenant's in-flight limit gets 429, and the slot comes back", async () => {
    const [a, b] = await Promise.all([
      call(url(), "/v2/models/n-big/infer", NARROW, { body: inferBody() }),
      call(url(), "/v2/models/n-big/infer", NARROW, { body: inferBody() })
    ])
    expect([a.status, b.status].sort()).toEqual([200, 429])
    const refused = a.status === 429 ? a : b
    expect(refused.headers.get("retry-after")).toBe("1")
    expect((await json(refused)).error).toContain("in flight")
    expect((await call(url(), "/v2/models/n-big/infer", NARROW, { body: inferBody() })).status).toBe(200)
  })
})
