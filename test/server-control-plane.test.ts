import { createHash } from "node:crypto"
import { mkdir, readFile, writeFile } from "node:fs/promises"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  json,
  eventually,
  getJson,
  infer,
  postJson,
  removeDir,
  serveFails,
  startServer,
  tempDir,
  writeModel,
  type Served
} from "./server-harness.js"

/**
 * The control plane (ModelMesh semantics over REST): registration by path and by URL (downloaded
 * once, verified), status, unregister, vmodels that switch only once their target is loaded,
 * a registry that survives a restart, and configuration errors that name the field.
 */
let dir: string
let server: Served
let origin: Server
let originUrl: string
const originHits: Record<string, number> = {}
let remoteBytes: Buffer

const outputOf = async (s: Served, model: string): Promise<number[]> => {
  const res = await infer(s, model)
  const text = await res.text()
  expect(res.status, text).toBe(200)
  return JSON.parse(text).outputs[0].data
}

// Files beside the models dir and the loopback origin are allowed sources (see model-sources.test.ts for the rules).
const start = () =>
  startServer([
    "--models", join(dir, "models"), "--model-roots", dir, "--allow-url-hosts", "127.0.0.1", "--allow-private-urls",
    "--data-dir", join(dir, "data"), "--memory", "256MiB", "--log-level", "warn"
  ])

beforeAll(async () => {
  dir = await tempDir("control")
  await mkdir(join(dir, "models", "nested"), { recursive: true })
  await writeModel(join(dir, "models", "nested", "model.onnx"), 64 * 1024, 9)
  await writeFile(join(dir, "models", "nested", "meta.json"), JSON.stringify({ tenant: "team-a", labels: { tier: "gold" } }))
  await writeModel(join(dir, "one.onnx"), 128 * 1024, 1)
  await writeModel(join(dir, "two.onnx"), 128 * 1024, 2)
  await writeModel(join(dir, "remote.onnx"), 128 * 1024, 3)
  await writeFile(join(dir, "broken.onnx"), "not a model")
  remoteBytes = await readFile(join(dir, "remote.onnx"))

  origin = createServer((req, res) => {
    originHits[req.url!] = (originHits[req.url!] ?? 0) + 1
    if (req.url === "/models/remote.onnx") {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": remoteBytes.length })
      res.end(remoteBytes)
    } else {
      res.writeHead(404)
      res.end("no such file")
    }
  })
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r))
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`
  server = await start()
}, 120_000)

afterAll(async () => {
  await server?.stop()
  await new Promise((r) => origin?.close(r))
  await removeDir(dir)
})

describe("models directory", () => {
  it("registers <name>/model.onnx with the metadata beside it", async () => {
    expect(await getJson(server, "/v1/models/nested")).toMatchObject({
      id: "nested",
      status: "NOT_LOADED",
      source: "dir",
      tenant: "team-a",
      labels: { tier: "gold" }
    })
  })
})

describe("registration", () => {
  it("registers a model by file path, lazily, and unregisters it", async () => {
    const res = await postJson(server, "/v1/models", { id: "one", uri: join(dir, "one.onnx"), tenant: "t1", labels: { a: "b" } })
    expect(res.status).toBe(201)
    expect(await json(res)).toMatchObject({ id: "one", status: "NOT_LOADED", tenant: "t1", labels: { a: "b" }, source: "api" })
    expect((await outputOf(server, "one")).length).toBe(10)
    const list = (await getJson(server, "/v1/models")) as Array<{ id: string; status: string }>
    expect(list.find((m) => m.id === "one")?.status).toBe("LOADED")

    const dup = await postJson(server, "/v1/models", { id: "one", uri: join(dir, "one.onnx") })
    expect(dup.status).toBe(409)
    expect((await postJson(server, "/v1/models/one", undefined, "DELETE")).status).toBe(200)
    expect((await infer(server, "one")).status).toBe(404)
    expect((await fetch(`${server.url}/v1/models/one`)).status).toBe(404)
  })

  it("loads right away with loadNow + sync", async () => {
    const res = await postJson(server, "/v1/models", { id: "eager", uri: join(dir, "two.onnx"), loadNow: true, sync: true })
    expect(res.status).toBe(201)
    expect(await json(res)).toMatchObject({ id: "eager", status: "LOADED", loads: 1 })
  })

  it("rejects bad registrations with a message that names the problem", async () => {
    const bad = async (body: unknown, status: number, pattern: RegExp) => {
      const res = await postJson(server, "/v1/models", body)
      expect(res.status).toBe(status)
      expect((await json(res)).error).toMatch(pattern)
    }
    await bad({ uri: "/x.onnx" }, 400, /id/)
    await bad({ id: "../etc", uri: "/x.onnx" }, 400, /model ids/)
    await bad({ id: "x", uri: "/x.onnx", pinned: "yes" }, 400, /pinned/)
    await bad({ id: "x", uri: "/x.onnx", extra: 1 }, 400, /extra: unknown field/)
    await bad({ id: "x", uri: join(dir, "missing.onnx") }, 400, /no such file/)
    await bad({ id: "x", uri: join(dir, "one.onnx"), format: "pytorch" }, 400, /format "pytorch" is not supported/)
    await bad({ id: "nested", uri: join(dir, "one.onnx") }, 409, /already registered/)
    expect((await postJson(server, "/v1/models/nested", undefined, "DELETE")).status).toBe(409)
  })

  it("downloads a URL model once, verifies its sha256, and rejects a mismatch", async () => {
    const sha256 = createHash("sha256").update(remoteBytes).digest("hex")
    const url = `${originUrl}/models/remote.onnx`
    const wrong = await postJson(server, "/v1/models", { id: "remote", uri: url, sha256: "0".repeat(64) })
    expect(wrong.status).toBe(400)
    expect((await json(wrong)).error).toMatch(/sha256/)
    expect((await fetch(`${server.url}/v1/models/remote`)).status).toBe(404)

    const missing = await postJson(server, "/v1/models", { id: "gone", uri: `${originUrl}/models/gone.onnx` })
    expect(missing.status).toBe(502)
    expect((await json(missing)).error).toMatch(/HTTP 404/)

    const hitsBefore = originHits["/models/remote.onnx"] ?? 0
    const res = await postJson(server, "/v1/models", { id: "remote", uri: url, sha256, sizeBytes: remoteBytes.length })
    expect(res.status).toBe(201)
    expect(originHits["/models/remote.onnx"]).toBe(hitsBefore + 1)
    // The same bytes registered by path give the same answer.
    await postJson(server, "/v1/models", { id: "remote-local", uri: join(dir, "remote.onnx") })
    expect(await outputOf(server, "remote")).toEqual(await outputOf(server, "remote-local"))
    expect(originHits["/models/remote.onnx"]).toBe(hitsBefore + 1)
  })
})

describe("vmodels", () => {
  it("switches to a new target only once the target is loaded, and stays put when it fails", async () => {
    await postJson(server, "/v1/models", { id: "v-one", uri: join(dir, "one.onnx") })
    await postJson(server, "/v1/models", { id: "v-two", uri: join(dir, "two.onnx") })
    await postJson(server, "/v1/models", { id: "v-broken", uri: join(dir, "broken.onnx") })
    const one = await outputOf(server, "v-one")
    const two = await outputOf(server, "v-two")
    expect(one).not.toEqual(two)
    await fetch(`${server.url}/v2/repository/models/v-two/unload`, { method: "POST" })

    const created = await postJson(server, "/v1/vmodels/alias", { target: "v-one" }, "PUT")
    expect(await json(created)).toEqual({ id: "alias", activeModelId: "v-one", targetModelId: "v-one", status: "DEFAULT" })
    expect(await outputOf(server, "alias")).toEqual(one)

    // v-two is not loaded: the alias keeps serving v-one until it is.
    const moving = await json(await postJson(server, "/v1/vmodels/alias", { target: "v-two" }, "PUT"))
    expect(moving).toEqual({ id: "alias", activeModelId: "v-one", targetModelId: "v-two", status: "TRANSITIONING" })
    await eventually(async () => {
      const v = await getJson(server, "/v1/vmodels/alias")
      if (v.activeModelId === "v-two") {
        // Never switched before the target was loaded.
        expect((await getJson(server, "/v1/models/v-two")).status).toBe("LOADED")
        return v.status === "DEFAULT"
      }
      return false
    })
    expect(await outputOf(server, "alias")).toEqual(two)

    // A target that cannot load: the alias stays on v-two and says why.
    await postJson(server, "/v1/vmodels/alias", { target: "v-broken" }, "PUT")
    await eventually(async () => (await getJson(server, "/v1/vmodels/alias")).status === "TRANSITION_FAILED")
    const failed = await getJson(server, "/v1/vmodels/alias")
    expect(failed).toMatchObject({ activeModelId: "v-two", targetModelId: "v-broken", status: "TRANSITION_FAILED" })
    expect(failed.error).toMatch(/v-broken/)
    expect(await outputOf(server, "alias")).toEqual(two)

    // A model a vmodel points at cannot be unregistered.
    expect((await postJson(server, "/v1/models/v-two", undefined, "DELETE")).status).toBe(409)
    expect((await postJson(server, "/v1/vmodels/nope", { target: "missing" }, "PUT")).status).toBe(404)
  })
})

describe("persistence", () => {
  it("keeps every registration and vmodel across a restart, without downloading again", async () => {
    const before = ((await getJson(server, "/v1/models")) as Array<{ id: string }>).map((m) => m.id).sort()
    const hits = originHits["/models/remote.onnx"]
    const registry = JSON.parse(await readFile(join(dir, "data", "registry.json"), "utf8"))
    expect(registry.models.map((m: { id: string }) => m.id)).toContain("remote")
    expect(await server.stop()).toBe(0)

    server = await start()
    const after = ((await getJson(server, "/v1/models")) as Array<{ id: string }>).map((m) => m.id).sort()
    expect(after).toEqual(before)
    expect(await getJson(server, "/v1/vmodels/alias")).toMatchObject({ activeModelId: "v-two", targetModelId: "v-broken" })
    expect((await outputOf(server, "remote")).length).toBe(10)
    expect(originHits["/models/remote.onnx"]).toBe(hits)
  })
})

describe("configuration", () => {
  it("stops at start with a message naming the bad field (all cases: packages/server/test/config.test.ts)", async () => {
    const res = await serveFails(["--memory", "lots", "--data-dir", join(dir, "cfg")])
    expect(res.code).not.toBe(0)
    expect(res.stdout).toBe("")
    expect(res.stderr).toMatch(/memory \(from --memory\): invalid byte size "lots"/)
  })

  it("takes settings from a YAML file and the environment", async () => {
    const file = join(dir, "good.yaml")
    await writeFile(file, `memory: 3MiB\neviction:\n  name: ttl\n  options:\n    keepAliveMs: 60000\n`)
    const s = await startServer(["--config", file, "--data-dir", join(dir, "cfg"), "--log-level", "warn"], { MESHKIT_MODEL_CONCURRENCY: "3" })
    try {
      expect(s.readyLine).toMatch(/\(0 models, memory 3\.00 MiB\)$/)
    } finally {
      expect(await s.stop()).toBe(0)
    }
  })
})
