/**
 * Configuration reload on SIGHUP, end to end: a real `meshkit serve --config FILE` process,
 * requests in flight during `kill -HUP`, none fails; the eviction policy changes live (lru →
 * ttl with a short keep-alive: idle residents are then unloaded by the new policy, the hot one
 * stays); the residents stay loaded across the switch; a changed setting that cannot change
 * live is logged as needing a restart; an invalid file changes nothing.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { eventually, infer, removeDir, repositoryIndex, startServer, tempDir, writeModel, type Served } from "./server-harness.js"

let dir = ""
let server: Served
let configFile = ""

const logLines = (): any[] =>
  server
    .stderr()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l))

beforeAll(async () => {
  dir = await tempDir("reload")
  for (const [i, m] of ["hot", "idle1", "idle2"].entries()) await writeModel(join(dir, `${m}.onnx`), 64 * 1024, i + 1)
  configFile = join(dir, "meshkit.yaml")
  await writeFile(configFile, `models: ${dir}\nmemory: 64MiB\neviction: lru\nexpireInterval: 200ms\n`)
  server = await startServer(["--config", configFile, "--data-dir", join(dir, "data"), "--grpc-port", "off"])
}, 120_000)

afterAll(async () => {
  await server?.stop()
  await removeDir(dir)
})

it("SIGHUP swaps the eviction policy live, keeps the residents and drops no request", async () => {
  for (const m of ["hot", "idle1", "idle2"]) expect((await infer(server, m)).status).toBe(200)
  expect(await repositoryIndex(server)).toEqual({ hot: "READY", idle1: "READY", idle2: "READY" })

  // Requests in flight on the hot model for the whole reload.
  let stop = false
  const statuses: number[] = []
  const workers = Array.from({ length: 4 }, async () => {
    while (!stop) statuses.push((await infer(server, "hot")).status)
  })
  await new Promise((r) => setTimeout(r, 300))

  await writeFile(configFile, `models: ${dir}\nmemory: 128MiB\neviction: { name: ttl, options: { keepAliveMs: 1500 } }\nexpireInterval: 200ms\n`)
  server.proc.kill("SIGHUP")
  await eventually(async () => logLines().some((l) => /^config reloaded/.test(l.msg)), 20_000)
  const line = logLines().find((l) => /^config reloaded/.test(l.msg))
  expect(line.applied).toEqual(["eviction"])
  expect(line.needsRestart).toEqual(["memory"])
  expect(logLines().find((l) => l.msg.startsWith("eviction policy replaced"))?.eviction).toBe("ttl")
  // the switch unloaded nothing
  expect(await repositoryIndex(server)).toEqual({ hot: "READY", idle1: "READY", idle2: "READY" })

  // the new policy is the one deciding: the idle models expire, the hot one (in use) stays
  await eventually(async () => {
    const idx = await repositoryIndex(server)
    return idx.idle1 !== "READY" && idx.idle2 !== "READY"
  }, 20_000)
  expect((await repositoryIndex(server)).hot).toBe("READY")
  expect(logLines().filter((l) => l.msg === "model expired").map((l) => l.model).sort()).toEqual(["idle1", "idle2"])

  stop = true
  await Promise.all(workers)
  expect(statuses.length).toBeGreaterThan(20)
  expect(statuses.filter((s) => s !== 200)).toEqual([])
}, 90_000)

it("an invalid file on SIGHUP changes nothing and says why", async () => {
  await writeFile(configFile, `models: ${dir}\neviction: no-such-policy\n`)
  server.proc.kill("SIGHUP")
  await eventually(async () => logLines().some((l) => l.msg === "config reload failed: nothing changed"), 20_000)
  expect(logLines().find((l) => l.msg === "config reload failed: nothing changed").error).toMatch(/eviction.*no-such-policy/s)
  expect((await infer(server, "hot")).status).toBe(200)
})
