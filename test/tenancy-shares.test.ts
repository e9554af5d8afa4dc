/**
 * Fair memory shares on the real server: tenant A floods the server with far more models than
 * fit, while tenant B holds a few models within its guaranteed share. With shares B's models
 * stay loaded through the flood (A evicts its own); the same flood on the same server without
 * shares evicts B's models — the rule is what makes the difference.
 */
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { inferBody, removeDir, startServer, tempDir, writeModel, type Served } from "./server-harness.js"
import { call, writeTenantsFile } from "./tenancy-harness.js"

const ADMIN = "shares-admin-token"
const A = "tenant-a-token"
const B = "tenant-b-token"
const FLOOD = 30
const B_MODELS = ["b-0", "b-1", "b-2"]
let dir = ""

beforeAll(async () => {
  dir = await tempDir("tenancy-shares")
  let seed = 1
  for (const id of B_MODELS) {
    await writeModel(join(dir, `${id}.onnx`), 1024 * 1024, seed++)
    await writeFile(join(dir, `${id}.json`), JSON.stringify({ tenant: "b" }))
  }
  for (let i = 0; i < FLOOD; i++) {
    const id = `a-${String(i).padStart(2, "0")}`
    await writeModel(join(dir, `${id}.onnx`), 1024 * 1024, 100 + i)
    await writeFile(join(dir, `${id}.json`), JSON.stringify({ tenant: "a" }))
  }
}, 60_000)
afterAll(async () => {
  if (dir) await removeDir(dir)
})

/** Start a server, load B's models, flood A's, and report which models are loaded at the end. */
const flood = async (withShares: boolean): Promise<{ b: string[]; a: number; used: number }> => {
  const tenantsDir = join(dir, withShares ? "with" : "without")
  await mkdir(tenantsDir, { recursive: true })
  const file = writeTenantsFile(tenantsDir, ADMIN, [
    { id: "a", token: A },
    { id: "b", token: B, ...(withShares ? { memory: "0.25" } : {}) }
  ])
  // 16 MiB holds about 12 models of 1 MiB + session overhead; B's share (4 MiB) holds its 3.
  const server: Served = await startServer([
    "--models", dir,
    "--tenants", file,
    "--memory", "16MiB",
    "--eviction", "lru",
    "--measure-size", "false",
    "--size-factor", "1",
    "--data-dir", join(tenantsDir, "data"),
    "--log-level", "warn"
  ])
  try {
    for (const id of B_MODELS) expect((await call(server.url, `/v2/models/${id}/infer`, B, { body: inferBody() })).status).toBe(200)
    for (let i = 0; i < FLOOD; i++) {
      const res = await call(server.url, `/v2/models/a-${String(i).padStart(2, "0")}/infer`, A, { body: inferBody() })
      expect(res.status).toBe(200)
    }
    const all = (await (await call(server.url, "/v1/models", ADMIN)).json()) as Array<{ id: string; tenant: string; status: string; sizeBytes: number }>
    const loaded = all.filter((m) => m.status === "LOADED")
    return {
      b: loaded.filter((m) => m.tenant === "b").map((m) => m.id).sort(),
      a: loaded.filter((m) => m.tenant === "a").length,
      used: loaded.reduce((s, m) => s + m.sizeBytes, 0)
    }
  } finally {
    await server.stop()
  }
}

describe("fair memory shares", () => {
  it("a flood of tenant A's models does not evict tenant B's models while B is within its share", async () => {
    const on = await flood(true)
    expect(on.b).toEqual(B_MODELS)
    // A still got the rest of the budget (borrowing B's idle part is allowed, B's models are not).
    expect(on.a).toBeGreaterThan(3)
    expect(on.used).toBeLessThanOrEqual(16 * 1024 * 1024)
  }, 240_000)

  it("without shares the same flood evicts B's models (LRU)", async () => {
    const off = await flood(false)
    expect(off.b).toEqual([])
  }, 240_000)
})
