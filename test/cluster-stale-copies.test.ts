/**
 * Copy-map entries that outlive their copy, on a real cluster: a real etcd, two real
 * `meshkit serve --etcd` processes, each with its own test runtime process (loads that take as
 * long as the model file says), driven over real sockets.
 *
 *   - GET /v1/models/{id} tells a stale entry (the instance evicted the model; its entry is not
 *     dropped yet) from a load under way: NOT_LOADED, not LOADING; the entry then goes.
 *   - a model unloaded between a request's load and the request's slot is loaded again only
 *     through a copy claim: the copy the request ends up on is listed by a claim made for it;
 *     with another copy loaded elsewhere, the request goes there and nothing is reloaded.
 */
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { linearModel } from "../packages/server/test/support/test-runtime/process.js"
import { withRuntimeCluster, type Copy } from "./support/runtime-cluster.js"
import { eventually, getJson, json, postJson, type Served } from "./server-harness.js"

const ids = ["i0", "i1"]
// no scaling: copies come and go only as each test says
const cluster = withRuntimeCluster("stale-copies", { ids, args: ["--scaling", "off"] })
const { runtimes, servers } = cluster

const copiesOf = async (s: Served, model: string): Promise<Copy[]> => ((await getJson(s, `/v1/models/${model}`)) as { copies: Copy[] }).copies
const instanceView = async (s: Served, id: string) =>
  ((await getJson(s, "/v1/cluster")) as { instances: { id: string; models: string[]; loading: string[] }[] }).instances.find((i) => i.id === id)
const infer = (s: Served, model: string) =>
  fetch(`${s.url}/v2/models/${model}/infer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ inputs: [{ name: "input", shape: [1, 2], datatype: "FP32", data: [1, 1] }] }),
    signal: AbortSignal.timeout(30_000)
  })
/** Ask instance `s` to load a copy here (the route peers use for scale-up, minCopies, drains): claim, then load. */
const loadCopyOn = (s: Served, model: string) => postJson(s, `/v2/internal/copies/${model}`, { reason: "test" })
const runtimeEvents = (event: string, model: string) => runtimes.map((rt) => rt.of(event).filter((e) => e.modelId === model).length)
const register = async (id: string, loadDelayMs: number, maxCopies = 1, pad = 0) => {
  const path = join(cluster.dir, `${id}.json`)
  await writeFile(path, linearModel([[1, 2], [3, 4]], [0.5, -1], { loadDelayMs, pad }))
  const r = await postJson(servers[0]!, "/v1/models", { id, uri: path, format: "linear", maxCopies })
  expect(r.status, await r.clone().text()).toBe(201)
  await r.arrayBuffer()
  await eventually(async () => (await fetch(`${servers[1]!.url}/v1/models/${id}`)).status === 200, 15_000)
}

describe("stale copy entries in cluster mode", () => {
  it("GET /v1/models/{id} shows an evicted copy's lingering entry as NOT_LOADED, not LOADING, until its instance drops it", async () => {
    const [s0, s1] = [servers[0]!, servers[1]!]
    // Each loads as 600 KB in a 1 MiB runtime: loading the second evicts the first.
    await register("quick", 0, 1, 60_000)
    await register("quick-evictor", 0, 1, 60_000)
    const loaded = await loadCopyOn(s0, "quick")
    expect(loaded.status, await loaded.clone().text()).toBe(200)
    await loaded.arrayBuffer()
    const claimedBy = Date.now()
    // Both instances see the copy as loaded once i0 has published it.
    await eventually(async () => (await copiesOf(s1, "quick")).some((c) => c.instanceId === "i0" && c.status === "LOADED"), 10_000)
    // (an explicit unload drops its entry at once; an eviction leaves it to the sweep)
    const evictor = await loadCopyOn(s0, "quick-evictor")
    expect(evictor.status, await evictor.clone().text()).toBe(200)
    await evictor.arrayBuffer()
    expect((await getJson(s0, "/v1/models/quick")).status, "evicted").toBe("NOT_LOADED")
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

  /**
   * i0 claims a copy of `model` and starts loading it; an unload waits for that load to finish
   * (its turn comes first once it does); a request arriving meanwhile joins the load, then finds
   * the model unloaded before its slot. Resolves with the request's answer and its arrival time.
   */
  const unloadedBeforeTheSlot = async (model: string) => {
    const s0 = servers[0]!
    const copyLoad = loadCopyOn(s0, model)
    await eventually(async () => (await getJson(s0, `/v1/models/${model}`)).status === "LOADING", 5_000, 20)
    const unload = postJson(s0, `/v1/models/${model}/unload`)
    await new Promise((r) => setTimeout(r, 300))
    const requestAt = Date.now()
    const res = await infer(s0, model)
    expect((await copyLoad).status).toBe(200)
    expect((await unload).status).toBe(200)
    // The interleaving really happened: i0's copy was unloaded once its load had finished.
    expect(runtimeEvents("unloadModel", model)[0], "i0's copy was unloaded").toBe(1)
    return { res, requestAt }
  }

  it("a model unloaded between a request's load and its slot is loaded again only after a copy claim", async () => {
    const s0 = servers[0]!
    // Each load of "slow" takes 2 s in its runtime: room to line the calls up.
    await register("slow", 2000)
    const { res, requestAt } = await unloadedBeforeTheSlot("slow")
    const body = await json(res)
    expect(res.status, JSON.stringify(body)).toBe(200)
    expect(body.outputs[0].data).toEqual([3.5, 6])
    const loads = runtimeEvents("loadModel", "slow")
    expect(loads[0]! + loads[1]!, "two loads in the cluster").toBe(2)
    const holder = loads[1] === 1 ? "i1" : "i0"
    // The registry lists exactly the copy that exists, under a claim made for that second load
    // (after the request arrived), not the first load's entry left over: a reload running on
    // the old entry is unlisted as soon as that entry is dropped as stale.
    await eventually(async () => {
      const copies = await copiesOf(s0, "slow")
      return copies.length === 1 && copies[0]!.instanceId === holder && copies[0]!.since >= requestAt && copies[0]!.status === "LOADED"
    }, 5_000, 100).catch(async (e: Error) => {
      throw new Error(`${e.message}: copies ${JSON.stringify(await copiesOf(s0, "slow"))}, request at ${requestAt}, holder ${holder}`)
    })
    for (const s of servers) expect((await getJson(s, "/v1/models/slow")).status).toBe(s === servers[ids.indexOf(holder)] ? "LOADED" : "NOT_LOADED")
  }, 60_000)

  it("with another copy loaded elsewhere, such a request is served there and nothing is reloaded", async () => {
    const [s0, s1] = [servers[0]!, servers[1]!]
    await register("slow-pair", 1500, 2)
    const first = await loadCopyOn(s1, "slow-pair")
    expect(first.status, await first.clone().text()).toBe(200)
    await first.arrayBuffer()
    await eventually(async () => (await copiesOf(s0, "slow-pair")).some((c) => c.instanceId === "i1" && c.status === "LOADED"), 10_000)
    const inferredOnI1 = runtimes[1]!.of("infer").length
    const { res } = await unloadedBeforeTheSlot("slow-pair")
    const body = await json(res)
    expect(res.status, JSON.stringify(body)).toBe(200)
    expect(body.outputs[0].data).toEqual([3.5, 6])
    // i1's copy answered; i0 did not load the model again behind the registry's back.
    expect(runtimes[1]!.of("infer").length).toBe(inferredOnI1 + 1)
    expect(runtimeEvents("loadModel", "slow-pair"), "one load on each instance").toEqual([1, 1])
    expect((await getJson(s0, "/v1/models/slow-pair")).status).toBe("NOT_LOADED")
    // i0's entry goes (the request dropped it, or at the latest i0's sweep); i1's stays.
    await eventually(async () => JSON.stringify((await copiesOf(s1, "slow-pair")).map((c) => c.instanceId)) === '["i1"]', 15_000, 100)
  }, 60_000)
})
