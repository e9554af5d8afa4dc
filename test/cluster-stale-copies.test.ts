/**
 * Copy-map entries that outlive their copy, on a real cluster: a real etcd, two real
 * `meshkit serve --etcd` processes, each with its own test runtime process (loads that take as
 * long as the model file says), driven over real sockets.
 *
 *   - GET /v1/models/{id} tells a stale entry (the instance unloaded the model; its entry is not
 *     dropped yet) from a load under way: NOT_LOADED, not LOADING; the entry then goes.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, startEtcd, type EtcdProcess } from "@meshkit/server"
import { ensureEtcd } from "../packages/server/test/support/etcd.js"
import { linearModel, startTestRuntime, type TestRuntime } from "../packages/server/test/support/test-runtime/process.js"
import { eventually, getJson, json, postJson, removeDir, startServer, tempDir, type Served } from "./server-harness.js"

let dir = ""
let etcd: EtcdProcess
const runtimes: TestRuntime[] = []
const servers: Served[] = []
const ids = ["i0", "i1"]

interface Copy {
  readonly instanceId: string
  readonly status: string
  readonly since: number
}
const copiesOf = async (s: Served, model: string): Promise<Copy[]> => ((await getJson(s, `/v1/models/${model}`)) as { copies: Copy[] }).copies
const instanceView = async (s: Served, id: string) =>
  ((await getJson(s, "/v1/cluster")) as { instances: { id: string; models: string[]; loading: string[] }[] }).instances.find((i) => i.id === id)
/** Ask instance `s` to load a copy here (the route peers use for scale-up, minCopies, drains): claim, then load. */
const loadCopyOn = (s: Served, model: string) => postJson(s, `/v2/internal/copies/${model}`, { reason: "test" })
const register = async (id: string, loadDelayMs: number) => {
  const path = join(dir, `${id}.json`)
  await writeFile(path, linearModel([[1, 2], [3, 4]], [0.5, -1], { loadDelayMs }))
  const r = await postJson(servers[0]!, "/v1/models", { id, uri: path, format: "linear" })
  expect(r.status, await r.clone().text()).toBe(201)
  await r.arrayBuffer()
  await eventually(async () => (await fetch(`${servers[1]!.url}/v1/models/${id}`)).status === 200, 15_000)
}

beforeAll(async () => {
  dir = await tempDir("stale-copies")
  etcd = await startEtcd({ bin: ensureEtcd() })
  for (let i = 0; i < 2; i++) runtimes.push(await startTestRuntime(["--capacity", String(1024 * 1024)]))
  for (let i = 0; i < 2; i++) {
    servers.push(
      await startServer([
        "--port", String(await freePort()),
        "--grpc-port", "off",
        "--etcd", etcd.endpoint,
        "--instance-id", ids[i]!,
        "--data-dir", join(dir, `data-${i}`),
        "--model-roots", dir,
        // no scaling: copies come and go only as each test says
        "--scaling", "off",
        "--remote-runtime", JSON.stringify({ name: `tr${i}`, address: runtimes[i]!.address, modelTypes: ["linear"], healthInterval: "250ms" })
      ])
    )
  }
}, 180_000)

afterAll(async () => {
  for (const s of servers) await s.stop()
  for (const r of runtimes) await r.stop()
  await etcd?.dispose()
  if (dir) await removeDir(dir)
})

describe("stale copy entries in cluster mode", () => {
  it("GET /v1/models/{id} shows an unloaded copy's lingering entry as NOT_LOADED, not LOADING, until its instance drops it", async () => {
    const [s0, s1] = [servers[0]!, servers[1]!]
    await register("quick", 0)
    const loaded = await loadCopyOn(s0, "quick")
    expect(loaded.status, await loaded.clone().text()).toBe(200)
    await loaded.arrayBuffer()
    const claimedBy = Date.now()
    // Both instances see the copy as loaded once i0 has published it.
    await eventually(async () => (await copiesOf(s1, "quick")).some((c) => c.instanceId === "i0" && c.status === "LOADED"), 10_000)
    const unloaded = await postJson(s0, "/v1/models/quick/unload")
    expect(unloaded.status).toBe(200)
    expect((await json(unloaded)).status).toBe("NOT_LOADED")
    // i1 has i0's record published after the unload: neither loaded nor loading there.
    await eventually(async () => {
      const v = await instanceView(s1, "i0")
      return v !== undefined && !v.models.includes("quick") && !v.loading.includes("quick")
    }, 10_000)
    for (const s of [s1, s0]) {
      const copies = await copiesOf(s, "quick")
      // The entry is still there (the copy-map sweep drops it 10 s after its claim at the earliest)...
      expect(Date.now() - claimedBy, "the check ran within the entry's 10 s grace").toBeLessThan(10_000)
      expect(copies.map((c) => c.instanceId)).toEqual(["i0"])
      // ...and is reported as what it is: no copy, and no load either.
      expect(copies[0]!.status, `as seen from ${s.url}`).toBe("NOT_LOADED")
    }
    // It does not linger for good: i0's sweep drops it (10 s after the claim, checked every 2 s).
    await eventually(async () => (await copiesOf(s1, "quick")).length === 0, 20_000, 250)
  }, 60_000)
})
