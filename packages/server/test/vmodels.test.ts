import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { buildPolicy, makeRng } from "@meshkit/core"
import { LoadFailed, makeLog, modelRuntimes, ModelManager, ModelNotFound, ModelRegistry, ServerMetrics, VModels, type LoadedModel, type ModelRecord } from "../src/index.js"

/**
 * vmodels over a real registry and model manager, with a runtime whose loads the test finishes:
 * an alias moves to its new target only once the target is loaded, and stays put when it fails.
 */

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshkit-vmodels-"))
})
// the registry may still be finishing a write (temp file + rename) when a test ends
afterEach(() => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }))

const record = (id: string): ModelRecord => ({
  id, format: "onnx", uri: id, path: id, source: "api", tenant: "t", labels: {}, pinned: false, minCopies: 0, maxCopies: 1, registeredAt: 0
})

const setup = async () => {
  const pending = new Map<string, { resolve: (m: LoadedModel) => void; reject: (e: Error) => void }>()
  const runtime = {
    name: "scripted",
    formats: ["onnx"],
    platform: "scripted",
    predictSize: async () => 1000,
    load: (_path: string, id: string) => new Promise<LoadedModel>((resolve, reject) => pending.set(id, { resolve, reject }))
  }
  const loaded: LoadedModel = { sizeBytes: 1000, inputs: [], outputs: [], infer: async () => [], unload: async () => undefined }
  const manager = new ModelManager({
    capacityBytes: 1_000_000,
    policy: buildPolicy("eviction", "lru", { rng: makeRng(1), capacityBytes: 1_000_000 }),
    runtimes: modelRuntimes([runtime]),
    metrics: new ServerMetrics({ processMetrics: false }),
    log: makeLog("none"),
    maxConcurrentLoads: 2,
    loadQueueLimit: 10,
    loadTimeoutMs: 10_000,
    modelConcurrency: 4,
    queueLimit: 10,
    failureMemoryMs: 60_000,
    expireIntervalMs: 1000
  })
  const registry = await ModelRegistry.open(join(dir, "registry.json"))
  for (const id of ["a", "b", "c"]) {
    await registry.add(record(id))
    manager.register(record(id))
  }
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 0))
    expect(cond()).toBe(true)
  }
  const finish = async (id: string) => {
    await until(() => pending.has(id))
    pending.get(id)!.resolve(loaded)
    pending.delete(id)
  }
  const fail = async (id: string) => {
    await until(() => pending.has(id))
    pending.get(id)!.reject(new LoadFailed({ message: `model ${id} is broken` }))
    pending.delete(id)
  }
  return { vmodels: new VModels(registry, manager, makeLog("none")), registry, manager, finish, fail, until }
}

describe("vmodels", () => {
  it("a new alias starts on its target; a retarget switches only once the new target is loaded", async () => {
    const { vmodels, finish, until } = await setup()
    expect((await vmodels.set("v", "a")).status).toBe("DEFAULT")
    expect(vmodels.resolve("v")).toBe("a")
    const s = await vmodels.set("v", "b")
    expect(s).toMatchObject({ activeModelId: "a", targetModelId: "b", status: "TRANSITIONING" })
    expect(vmodels.resolve("v")).toBe("a")
    await finish("b")
    await until(() => vmodels.resolve("v") === "b")
    expect(vmodels.status("v").status).toBe("DEFAULT")
  })

  it("stays on the previous model and reports TRANSITION_FAILED when the target fails to load", async () => {
    const { vmodels, fail, until } = await setup()
    await vmodels.set("v", "a")
    await vmodels.set("v", "c")
    await fail("c")
    await until(() => vmodels.status("v").status === "TRANSITION_FAILED")
    expect(vmodels.status("v")).toMatchObject({ activeModelId: "a", targetModelId: "c", error: "model c is broken" })
    expect(vmodels.resolve("v")).toBe("a")
  })

  it("only the latest target wins when retargeted during a transition", async () => {
    const { vmodels, finish, until } = await setup()
    await vmodels.set("v", "a")
    await vmodels.set("v", "b")
    await vmodels.set("v", "c")
    await finish("b")
    await finish("c")
    await until(() => vmodels.resolve("v") === "c")
    expect(vmodels.status("v").status).toBe("DEFAULT")
  })

  it("persists the retarget at once and the switch once done, so a restart routes where the last run left off", async () => {
    const { vmodels, registry, manager, finish, until } = await setup()
    await vmodels.set("v", "a")
    await vmodels.set("v", "b")
    // A restart: a new VModels over the same registry file picks the transition up.
    const reopened = await ModelRegistry.open(join(dir, "registry.json"))
    expect(reopened.vmodel("v")).toEqual({ id: "v", active: "a", target: "b" })
    await finish("b")
    await until(() => registry.vmodel("v")?.active === "b")
    // The switch is written to the file (after the in-memory switch): a later start routes to b.
    let again: VModels | undefined
    for (let i = 0; i < 100 && again?.resolve("v") !== "b"; i++) {
      await new Promise((r) => setTimeout(r, 10))
      again = new VModels(await ModelRegistry.open(join(dir, "registry.json")), manager, makeLog("none"))
    }
    expect(again!.resolve("v")).toBe("b")
  })

  it("refuses an unknown target and an unknown vmodel", async () => {
    const { vmodels } = await setup()
    await expect(vmodels.set("v", "nope")).rejects.toBeInstanceOf(ModelNotFound)
    expect(() => vmodels.status("nope")).toThrow(ModelNotFound)
  })
})
