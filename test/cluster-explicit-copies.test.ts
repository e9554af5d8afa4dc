/**
 * Loads and unloads asked for by name in cluster mode keep the copy map right, on a real
 * cluster: a real etcd, two real `meshkit serve --etcd` processes, each with its own test
 * runtime process, driven over real sockets.
 *
 *   - the control plane's and KServe's repository load claim the copy before loading; a model
 *     that has its maxCopies elsewhere is refused with 409 and nothing is loaded;
 *   - a registration with loadNow or pinned loads its first copy through a claim, and an
 *     instance starting up loads no pinned model behind the registry's back;
 *   - the control plane's and the repository's unload drop the copy's entry at once;
 *   - the copy-map sweep lists an unlisted copy only within maxCopies, and unloads it beyond
 *     (the membership reconcile's same rule is pinned in-process, on a real etcd, in
 *     packages/server/test/cluster-membership.test.ts: a real-process test of it had to race
 *     the sweep and failed under a loaded machine's timing);
 *   - a pinned model whose runtime comes back is reloaded only through a claim: again where it
 *     is still listed, not where its copy has moved elsewhere meanwhile;
 *   - an instance answers no request by loading a model before it has joined the cluster;
 *   - a vmodel switches to a target loaded elsewhere without a copy beyond maxCopies here;
 *   - model metadata for a model held elsewhere at maxCopies is asked of the holder, not loaded.
 */
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Etcd3 } from "etcd3"
import { describe, expect, it } from "vitest"
import { linearModel, startTestRuntime } from "../packages/server/test/support/test-runtime/process.js"
import { withRuntimeCluster, type Copy } from "./support/runtime-cluster.js"
import { eventually, getJson, json, postJson, startServer, type Served } from "./server-harness.js"

const ids = ["i0", "i1"]
// no scaling: copies come and go only as each test says
const cluster = withRuntimeCluster("explicit-copies", { ids, args: ["--scaling", "off"] })
const { runtimes, servers, serverArgs } = cluster

const copiesOf = async (s: Served, model: string): Promise<Copy[]> => ((await getJson(s, `/v1/models/${model}`)) as { copies: Copy[] }).copies
const holders = async (s: Served, model: string): Promise<string[]> => (await copiesOf(s, model)).map((c) => c.instanceId).sort()
const loadsOf = (i: number, model: string) => runtimes[i]!.of("loadModel").filter((e) => e.modelId === model).length
const modelFile = async (id: string, loadDelayMs = 0): Promise<string> => {
  const path = join(cluster.dir, `${id}.json`)
  await writeFile(path, linearModel([[1, 2], [3, 4]], [0.5, -1], { loadDelayMs }))
  return path
}
/** Register through i0 and wait until i1 knows the model too; the 201's body. */
const register = async (id: string, extra: Record<string, unknown> = {}, loadDelayMs = 0) => {
  const r = await postJson(servers[0]!, "/v1/models", { id, uri: await modelFile(id, loadDelayMs), format: "linear", ...extra })
  expect(r.status, await r.clone().text()).toBe(201)
  const body = await json(r)
  await eventually(async () => (await fetch(`${servers[1]!.url}/v1/models/${id}`)).status === 200, 15_000)
  return body
}

describe("explicit loads and unloads in cluster mode", () => {
  it("POST /v1/models/{id}/load claims the copy; at maxCopies elsewhere it and the repository load answer 409 and load nothing", async () => {
    const [s0, s1] = [servers[0]!, servers[1]!]
    await register("explicit") // maxCopies 1
    const first = await postJson(s0, "/v1/models/explicit/load", { sync: true })
    expect(first.status, await first.clone().text()).toBe(200)
    expect((await json(first)).status).toBe("LOADED")
    // The copy was claimed before it loaded: i1 sees the entry, and refuses a second copy.
    for (const [path, body] of [["/v1/models/explicit/load", { sync: true }], ["/v2/repository/models/explicit/load", undefined]] as const) {
      const second = await postJson(s1, path, body)
      const answer = await json(second)
      expect(second.status, `${path}: ${JSON.stringify(answer)}`).toBe(409)
      expect(answer.error).toMatch(/already has its maximum of 1 copy \(on i0\)/)
    }
    expect(loadsOf(1, "explicit"), "i1 loaded nothing").toBe(0)
    expect((await getJson(s1, "/v1/models/explicit")).status).toBe("NOT_LOADED")
    expect(await holders(s1, "explicit")).toEqual(["i0"])
    // Loading again where the copy is: answered, nothing new loaded.
    const again = await postJson(s0, "/v1/models/explicit/load", { sync: true })
    expect(again.status, await again.clone().text()).toBe(200)
    await again.arrayBuffer()
    expect(loadsOf(0, "explicit")).toBe(1)
  }, 60_000)

  it("an asynchronous load answers once the copy is claimed; a second copy fits when maxCopies allows it", async () => {
    const [s0, s1] = [servers[0]!, servers[1]!]
    await register("pair", { maxCopies: 2 })
    for (const s of [s0, s1]) {
      const r = await postJson(s, "/v1/models/pair/load", {})
      expect(r.status, await r.clone().text()).toBe(200)
      await r.arrayBuffer()
    }
    await eventually(async () => (await copiesOf(s0, "pair")).filter((c) => c.status === "LOADED").length === 2, 10_000)
    expect(await holders(s0, "pair")).toEqual(["i0", "i1"])
    const third = await postJson(s1, "/v2/repository/models/pair/load")
    expect(third.status, "i1 holds one of the two copies: a load there is answered").toBe(200)
    await third.arrayBuffer()
    expect([loadsOf(0, "pair"), loadsOf(1, "pair")]).toEqual([1, 1])
  }, 60_000)

  it("POST /v1/models with loadNow or pinned claims the first copy before loading it", async () => {
    const [s0, s1] = [servers[0]!, servers[1]!]
    for (const [id, extra] of [["now", { loadNow: true, sync: true }], ["pin", { pinned: true, sync: true }]] as const) {
      // each load takes 300 ms: a claim made before it is well before the load's end
      const status = await register(id, extra, 300)
      expect(status.status, JSON.stringify(status)).toBe("LOADED")
      const copies = await copiesOf(s0, id)
      expect(copies.map((c) => c.instanceId), `${id}: listed at once`).toEqual(["i0"])
      expect(copies[0]!.since, `${id}: claimed before the load, not listed after it by the sweep`).toBeLessThan(status.loadedAt - 200)
      const elsewhere = await postJson(s1, `/v1/models/${id}/load`, { sync: true })
      expect(elsewhere.status, await elsewhere.clone().text()).toBe(409)
      await elsewhere.arrayBuffer()
    }
    // Registered where the model already has its copies: the registration stands, nothing loads.
    expect(loadsOf(1, "now") + loadsOf(1, "pin")).toBe(0)
  }, 60_000)

  it("an instance that starts while a pinned model is held elsewhere does not load it at start", async () => {
    const s0 = servers[0]!
    const status = await register("kept", { pinned: true, sync: true })
    expect(status.status).toBe("LOADED")
    runtimes.push(await startTestRuntime(["--capacity", String(1024 * 1024)]))
    const s2 = await startServer(await serverArgs(2, "i2"))
    servers.push(s2)
    await eventually(async () => (await fetch(`${s2.url}/v1/models/kept`)).status === 200, 15_000)
    // Long enough for a load at start to have happened, and for sweeps (2 s) and the leader's
    // minCopies chore (5 s) to have run: the copy the registry lists is the only one.
    await new Promise((r) => setTimeout(r, 6_000))
    expect(loadsOf(2, "kept"), "i2 loaded the pinned model at start").toBe(0)
    expect((await getJson(s2, "/v1/models/kept")).status).toBe("NOT_LOADED")
    expect(await holders(s0, "kept")).toEqual(["i0"])
  }, 120_000)

  it("POST /v1/models/{id}/unload and the repository unload drop the copy's entry at once, not at the next sweep", async () => {
    const [s0, s1] = [servers[0]!, servers[1]!]
    await register("gone-now", { maxCopies: 2 })
    for (const s of [s0, s1]) {
      const r = await postJson(s, "/v1/models/gone-now/load", { sync: true })
      expect(r.status, await r.clone().text()).toBe(200)
      await r.arrayBuffer()
    }
    const claimedBy = Date.now()
    await eventually(async () => (await holders(s1, "gone-now")).length === 2, 5_000)
    for (const [s, path, left] of [[s0, "/v1/models/gone-now/unload", ["i1"]], [s1, "/v2/repository/models/gone-now/unload", []]] as const) {
      const r = await postJson(s, path)
      expect(r.status, await r.clone().text()).toBe(200)
      await r.arrayBuffer()
      // seen from the other instance too: it stops counting and routing to the copy
      for (const t of [s0, s1]) await eventually(async () => JSON.stringify(await holders(t, "gone-now")) === JSON.stringify(left), 1_500)
    }
    // Well inside the 10 s a stale entry is kept by the sweep: the unloads dropped the entries.
    expect(Date.now() - claimedBy).toBeLessThan(8_000)
    for (const s of [s0, s1]) expect((await getJson(s, "/v1/models/gone-now")).status).toBe("NOT_LOADED")
  }, 60_000)

  it("the copy-map sweep does not list a copy beyond maxCopies: an unlisted surplus copy is unloaded", async () => {
    const [s0, s1] = [servers[0]!, servers[1]!]
    await register("surplus") // maxCopies 1
    const onI1 = await postJson(s1, "/v1/models/surplus/load", { sync: true })
    expect(onI1.status, await onI1.clone().text()).toBe(200)
    await onI1.arrayBuffer()
    // The registry loses i1's entry and lists i0 instead (as when i1 looked gone and was pruned
    // while i0 claimed the model): i1 now holds a copy the registry does not list...
    const client = new Etcd3({ hosts: cluster.etcd.endpoint })
    try {
      const key = "meshkit/registry/surplus"
      const rec = JSON.parse((await client.get(key).string())!)
      expect(Object.keys(rec.instanceIds)).toEqual(["i1"])
      await client.put(key).value(JSON.stringify({ ...rec, instanceIds: { i0: Date.now() } }))
    } finally {
      client.close()
    }
    // ...and i0 loads the copy listed as its own (its claim rewrites that entry).
    const onI0 = await postJson(s0, "/v1/models/surplus/load", { sync: true })
    expect(onI0.status, await onI0.clone().text()).toBe(200)
    await onI0.arrayBuffer()
    // i1's sweep (every 2 s) finds its unlisted copy with the model's one copy listed on i0.
    await eventually(async () => (await getJson(s1, "/v1/models/surplus")).status === "NOT_LOADED", 8_000, 100)
    expect(runtimes[1]!.of("unloadModel").filter((e) => e.modelId === "surplus").length).toBe(1)
    // A few more sweeps: still one copy, listed where it is.
    await new Promise((r) => setTimeout(r, 2_500))
    expect(await holders(s0, "surplus")).toEqual(["i0"])
    expect((await getJson(s0, "/v1/models/surplus")).status).toBe("LOADED")
  }, 60_000)

  it("requests that reach a starting instance before it has joined the cluster load nothing there (503, retry)", async () => {
    const s0 = servers[0]!
    await register("early") // maxCopies 1
    const held = await postJson(s0, "/v1/models/early/load", { sync: true })
    expect(held.status, await held.clone().text()).toBe(200)
    await held.arrayBuffer()
    runtimes.push(await startTestRuntime(["--capacity", String(1024 * 1024)]))
    // i3 finds 300 models in its --models DIR (never loaded): joining, it registers each in the
    // shared registry after its listeners are up, a window of a second or so to send requests in.
    const own = join(cluster.dir, "i3-models")
    await mkdir(own)
    for (let i = 0; i < 300; i++) await writeFile(join(own, `filler-${String(i).padStart(3, "0")}.onnx`), "not loaded")
    const rt = runtimes.length - 1
    const args = [...(await serverArgs(rt, "i3")), "--models", own]
    const url = `http://127.0.0.1:${args[1]}`
    // Requests from before the process listens until it says it is ready (it has joined then).
    let ready = false
    const early: number[] = []
    const poll = (async () => {
      while (!ready) {
        try {
          const res = await fetch(`${url}/v2/models/early/infer`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ inputs: [{ name: "input", shape: [1, 2], datatype: "FP32", data: [1, 1] }] }),
            signal: AbortSignal.timeout(10_000)
          })
          await res.arrayBuffer()
          if (!ready) early.push(res.status)
        } catch {
          await new Promise((r) => setTimeout(r, 2))
        }
      }
    })()
    const s3 = await startServer(args)
    ready = true
    servers.push(s3)
    await poll
    expect(loadsOf(rt, "early"), `i3 loaded the model before it joined (answers: ${early.join(",")})`).toBe(0)
    // Some came before it joined (503, retry); any after it joined went to i0's copy (200).
    expect(early, "requests reached the instance before it joined").toContain(503)
    expect(early.every((st) => st === 503 || st === 200), `answers before the ready line: ${early.join(",")}`).toBe(true)
    // Joined: the request goes to the copy on i0.
    const res = await fetch(`${url}/v2/models/early/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: [{ name: "input", shape: [1, 2], datatype: "FP32", data: [1, 1] }] })
    })
    expect(res.status, await res.clone().text()).toBe(200)
    await res.arrayBuffer()
    expect(await holders(s0, "early")).toEqual(["i0"])
  }, 120_000)

  it("a vmodel set through one instance switches to a target held elsewhere without loading it there", async () => {
    const [s0, s1] = [servers[0]!, servers[1]!]
    await register("v-old") // maxCopies 1 each
    await register("v-new")
    const held = await postJson(s0, "/v1/models/v-new/load", { sync: true })
    expect(held.status, await held.clone().text()).toBe(200)
    await held.arrayBuffer()
    await eventually(async () => (await copiesOf(s1, "v-new")).some((c) => c.instanceId === "i0" && c.status === "LOADED"), 10_000)
    const created = await postJson(s1, "/v1/vmodels/alias", { target: "v-old" }, "PUT")
    expect(created.status, await created.clone().text()).toBe(200)
    await created.arrayBuffer()
    const moved = await postJson(s1, "/v1/vmodels/alias", { target: "v-new", sync: true }, "PUT")
    const status = await json(moved)
    expect(moved.status, JSON.stringify(status)).toBe(200)
    expect(status).toMatchObject({ activeModelId: "v-new", status: "DEFAULT" })
    expect(loadsOf(1, "v-new"), "i1 loaded a second copy of the target").toBe(0)
    expect(await holders(s1, "v-new")).toEqual(["i0"])
    // A target with no copy yet is loaded through a claim where the call came in.
    const back = await postJson(s1, "/v1/vmodels/alias", { target: "v-old", sync: true }, "PUT")
    const again = await json(back)
    expect(back.status, JSON.stringify(again)).toBe(200)
    expect(again).toMatchObject({ activeModelId: "v-old", status: "DEFAULT" })
    expect(await holders(s0, "v-old")).toEqual(["i1"])
  }, 60_000)

  it("GET /v2/models/{m} for a model at maxCopies elsewhere answers from the holder without loading it here", async () => {
    const [s0, s1] = [servers[0]!, servers[1]!]
    await register("described") // maxCopies 1
    const held = await postJson(s0, "/v1/models/described/load", { sync: true })
    expect(held.status, await held.clone().text()).toBe(200)
    await held.arrayBuffer()
    await eventually(async () => (await copiesOf(s1, "described")).some((c) => c.instanceId === "i0" && c.status === "LOADED"), 10_000)
    const expected = await getJson(s0, "/v2/models/described")
    for (const path of ["/v2/models/described", "/v2/models/described/config"]) {
      const res = await fetch(`${s1.url}${path}`)
      const body = await json(res)
      expect(res.status, `${path}: ${JSON.stringify(body)}`).toBe(200)
      // (the platform names each instance's own runtime)
      if (path === "/v2/models/described") expect({ inputs: body.inputs, outputs: body.outputs }).toEqual({ inputs: expected.inputs, outputs: expected.outputs })
    }
    expect(loadsOf(1, "described"), "i1 loaded the model to describe it").toBe(0)
    expect(await holders(s1, "described")).toEqual(["i0"])
    // With no copy anywhere, describing it loads a copy here, claimed.
    await register("described-cold")
    const cold = await fetch(`${s1.url}/v2/models/described-cold`)
    expect(cold.status, await cold.clone().text()).toBe(200)
    await cold.arrayBuffer()
    expect(await holders(s0, "described-cold")).toEqual(["i1"])
  }, 60_000)

  it("a pinned model whose runtime restarts is loaded again where its copy is listed", async () => {
    const s1 = servers[1]!
    const reg = await postJson(s1, "/v1/models", { id: "bounce", uri: await modelFile("bounce"), format: "linear", pinned: true, sync: true })
    expect(reg.status, await reg.clone().text()).toBe(201)
    expect((await json(reg)).status).toBe("LOADED")
    await runtimes[1]!.kill()
    await eventually(async () => (await getJson(s1, "/v1/models/bounce")).status === "LOADING_FAILED", 10_000)
    await runtimes[1]!.restart()
    await eventually(async () => (await getJson(s1, "/v1/models/bounce")).status === "LOADED", 15_000, 100)
    expect(loadsOf(1, "bounce")).toBe(2)
    expect(await holders(s1, "bounce")).toEqual(["i1"])
  }, 60_000)

  it("a pinned model whose runtime comes back is not reloaded there when its copy is elsewhere now", async () => {
    const [s0, s1] = [servers[0]!, servers[1]!]
    await register("comeback", { pinned: true, sync: true }) // maxCopies 1, loaded on i0
    expect(await holders(s0, "comeback")).toEqual(["i0"])
    await runtimes[0]!.kill()
    await eventually(async () => (await getJson(s0, "/v1/models/comeback")).status === "LOADING_FAILED", 10_000)
    // i0's copy is gone and so is its entry (dropped by the unload at once, rather than by the
    // sweep 10 s on); the model gets its one copy elsewhere (this load, or the leader's chore).
    const unload = await postJson(s0, "/v1/models/comeback/unload")
    expect(unload.status, await unload.clone().text()).toBe(200)
    await unload.arrayBuffer()
    await eventually(async () => {
      const r = await postJson(s1, "/v1/models/comeback/load", { sync: true })
      await r.arrayBuffer()
      const h = await holders(s1, "comeback")
      return h.length === 1 && h[0] !== "i0" && (await copiesOf(s1, "comeback"))[0]!.status === "LOADED"
    }, 20_000, 250)
    const elsewhere = await holders(s1, "comeback")
    await runtimes[0]!.restart()
    await eventually(async () => (await fetch(`${s0.url}/v2/health/ready`)).status === 200, 10_000, 100)
    // Time for a reload on i0 to start, and for sweeps to run.
    await new Promise((r) => setTimeout(r, 3_000))
    expect(loadsOf(0, "comeback"), "i0 loaded the model again behind the registry's back").toBe(1)
    expect(await holders(s0, "comeback")).toEqual(elsewhere)
    expect((await getJson(s0, "/v1/models/comeback")).status).toBe("NOT_LOADED")
  }, 90_000)
})
