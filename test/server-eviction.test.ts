import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { SESSION_OVERHEAD_BYTES } from "@meshkit/server"
import {
  json,
  getJson,
  infer,
  metric,
  metrics,
  repositoryIndex,
  withServer,
  writeModel
} from "./server-harness.js"

/**
 * The model cache of `meshkit serve` under a memory budget: eviction order by the configured
 * core policy, models that can never fit, remembered load failures. (Overload: see
 * server-lifecycle.test.ts, which runs sessions in worker threads so that requests overlap.)
 * Sizes are made deterministic (--measure-size false --size-factor 1: a model takes its file
 * size plus the runtime's fixed per-session overhead), so the budget holds exactly two of the
 * 1 MiB models.
 */
let modelBytes = 0
const fixture = withServer("cache", {
  models: { a: [1024 * 1024, 1], b: [1024 * 1024, 2], c: [1024 * 1024, 3], huge: [3 * 1024 * 1024, 4] },
  prepare: (dir) => writeFile(join(dir, "broken.onnx"), Buffer.from("this is not an onnx model ".repeat(40))),
  args: (dir, bytes) => {
    modelBytes = bytes.a! + SESSION_OVERHEAD_BYTES
    const budget = Math.floor(modelBytes * 2.5)
    return [
      "--models", dir,
      "--memory", String(budget),
      "--eviction", "lru",
      "--data-dir", join(dir, "data"),
      "--size-factor", "1",
      "--measure-size", "false",
      "--failure-memory", "1500ms",
      "--log-level", "warn"
    ]
  }
})

const ok = async (model: string) => {
  const res = await infer(fixture.server, model)
  expect(res.status, `${model}: ${await res.clone().text()}`).toBe(200)
  await res.arrayBuffer()
}

describe("eviction under --memory", () => {
  it("evicts the least recently used model when a new one needs room", async () => {
    await ok("a")
    await ok("b")
    await ok("a") // a is now more recent than b
    expect(await repositoryIndex(fixture.server)).toMatchObject({ a: "READY", b: "READY", c: "UNAVAILABLE" })
    const before = await metrics(fixture.server)
    await ok("c")
    expect(await repositoryIndex(fixture.server)).toMatchObject({ a: "READY", b: "UNAVAILABLE", c: "READY" })
    const after = await metrics(fixture.server)
    expect((metric(after, 'meshkit_evictions_total{reason="capacity"}') ?? 0) - (metric(before, 'meshkit_evictions_total{reason="capacity"}') ?? 0)).toBe(1)
    expect(metric(after, "meshkit_used_bytes")).toBe(2 * modelBytes)
    expect(metric(after, "meshkit_capacity_bytes")).toBe(Math.floor(modelBytes * 2.5))

    // Status shows the order the policy used: a was used before c.
    const a = await getJson(fixture.server, "/v1/models/a")
    const c = await getJson(fixture.server, "/v1/models/c")
    expect(a.lastUsed).toBeLessThan(c.lastUsed)
    await ok("b") // a is now the least recent
    expect(await repositoryIndex(fixture.server)).toMatchObject({ a: "UNAVAILABLE", b: "READY", c: "READY" })
  })

  it("answers 507 for a model that can never fit, and evicts nothing for it", async () => {
    const res = await infer(fixture.server, "huge")
    expect(res.status).toBe(507)
    expect((await json(res)).error).toMatch(/more than the whole memory budget/)
    expect(await repositoryIndex(fixture.server)).toMatchObject({ b: "READY", c: "READY", huge: "UNAVAILABLE" })
    const load = await fetch(`${fixture.server.url}/v2/repository/models/huge/load`, { method: "POST" })
    expect(load.status).toBe(507)
  })
})

describe("failed loads", () => {
  it("remembers a failed load, answers with its error, then retries", async () => {
    const before = await metrics(fixture.server)
    const first = await infer(fixture.server, "broken")
    expect(first.status).toBe(503)
    expect((await json(first)).error).toMatch(/failed to load|cannot load/)

    const second = await infer(fixture.server, "broken")
    expect(second.status).toBe(503)
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    expect((await json(second)).error).toMatch(/remembered/)
    const status = await getJson(fixture.server, "/v1/models/broken")
    expect(status.status).toBe("LOADING_FAILED")
    expect(status.errors[0]).toMatch(/broken/)
    expect(status.retryAt).toBeGreaterThan(Date.now() - 100)
    const after = await metrics(fixture.server)
    expect((metric(after, "meshkit_load_failures_total") ?? 0) - (metric(before, "meshkit_load_failures_total") ?? 0)).toBe(1)
    expect(metric(after, "meshkit_models_with_failure")).toBeGreaterThanOrEqual(1)

    // Fix the file; once the failure memory (1.5 s) has passed, the next request loads it.
    await writeModel(join(fixture.dir, "broken.onnx"), 64 * 1024, 5)
    await new Promise((r) => setTimeout(r, Math.max(0, status.retryAt - Date.now()) + 100))
    await ok("broken")
    expect((await getJson(fixture.server, "/v1/models/broken")).status).toBe("LOADED")
  })
})
