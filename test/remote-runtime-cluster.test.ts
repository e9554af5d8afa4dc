/**
 * Remote runtimes in cluster mode: a real etcd, two `meshkit serve --etcd` instances, each with
 * its own test runtime process (as each ModelMesh pod has its own runtime container). A model
 * on a remote runtime is served from either instance and loaded once in the cluster; when the
 * runtime holding it dies, the model answers again through the other instance's runtime.
 */
import { stat, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { linearModel, type TestRuntime } from "../packages/server/test/support/test-runtime/process.js"
import { withRuntimeCluster } from "./support/runtime-cluster.js"
import { eventually, getJson, json, postJson, type Served } from "./server-harness.js"

let modelPath = ""
const { runtimes, servers } = withRuntimeCluster("remote-cluster", {
  ids: ["i0", "i1"],
  prepare: async (dir) => {
    modelPath = join(dir, "lin.json")
    await writeFile(modelPath, linearModel([[1, 2], [3, 4]], [0.5, -1]))
  }
})

const infer = (s: Served) =>
  fetch(`${s.url}/v2/models/lin/infer`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ inputs: [{ name: "input", shape: [1, 2], datatype: "FP32", data: [1, 1] }] }),
    signal: AbortSignal.timeout(30_000)
  })
const loadsOf = (rt: TestRuntime) => rt.of("loadModel").filter((e) => e.modelId === "lin").length

describe("remote runtimes in cluster mode", () => {
  it("serves the model from either instance, loaded once in the cluster", async () => {
    const reg = await postJson(servers[0]!, "/v1/models", { id: "lin", uri: modelPath, format: "linear" })
    expect(reg.status, await reg.clone().text()).toBe(201)
    await reg.arrayBuffer()
    await eventually(async () => (await fetch(`${servers[1]!.url}/v1/models/lin`)).status === 200, 15_000)
    for (const s of [servers[1]!, servers[0]!, servers[1]!]) {
      const res = await infer(s)
      const body = await json(res)
      expect(res.status, JSON.stringify(body)).toBe(200)
      expect(body.outputs[0].data).toEqual([3.5, 6])
    }
    expect(loadsOf(runtimes[0]!) + loadsOf(runtimes[1]!)).toBe(1)
    expect((await stat(modelPath)).size).toBeGreaterThan(0)
  })

  it("answers through the other instance's runtime once the holder's runtime dies", async () => {
    const holder = loadsOf(runtimes[0]!) === 1 ? 0 : 1
    const other = 1 - holder
    await runtimes[holder]!.kill()
    await eventually(async () => (await getJson(servers[holder]!, "/v1/models/lin")).status === "LOADING_FAILED", 10_000)
    // Either instance: the holder's copy is gone, so the request lands on the other runtime.
    await eventually(async () => {
      const res = await infer(servers[other]!)
      await res.arrayBuffer()
      return res.status === 200
    }, 30_000, 300)
    expect(loadsOf(runtimes[other]!)).toBe(1)
    const res = await infer(servers[holder]!)
    const body = await json(res)
    expect(res.status, JSON.stringify(body)).toBe(200)
    expect(body.outputs[0].data).toEqual([3.5, 6])
  })
})
