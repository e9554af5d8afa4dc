/**
 * The server's ModelRegistry and VModels in cluster mode, on a real etcd: what one instance
 * registers every instance sees (and gets a ModelManager entry for), --models DIR registers
 * idempotently, vmodel changes keep refcounts consistent, and with etcd stopped writes fail
 * fast as "unavailable" (503) while reads go on; once etcd is back, writes work and nothing
 * registered before is lost.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as grpc from "@grpc/grpc-js"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { buildPolicy, makeRng } from "@meshkit/core"
import { ClusterRegistry } from "../src/cluster/cluster-registry.js"
import { WriteContention } from "../src/cluster/errors.js"
import { ClusterModelRegistryLive, followSharedRegistry } from "../src/cluster/registry-bridge.js"
import { Config, resolveConfig } from "../src/config/config.js"
import { Conflict, kindOf, LoadFailed, messageOf, ModelNotFound } from "../src/errors.js"
import { ModelManager } from "../src/instance/model-manager.js"
import { logLayer, makeLog } from "../src/observability/log.js"
import { ServerMetrics } from "../src/observability/metrics.js"
import { ModelRegistry, type ModelRecord } from "../src/registry/registry.js"
import { VModels } from "../src/registry/vmodels.js"
import { modelRuntimes, type LoadedModel } from "../src/runtimes/index.js"
import { GRPC_STATUS } from "../src/transport/grpc/errors.js"
import { HTTP_STATUS } from "../src/transport/http/errors.js"
import { baseLayer, freshPrefix } from "./support/cluster.js"
import { startEtcd, type EtcdServer } from "./support/etcd.js"

const log = makeLog("none")

let etcd: EtcdServer
let scope: Scope.CloseableScope
let dir: string
beforeAll(async () => {
  etcd = await startEtcd()
})
afterAll(async () => {
  await etcd?.dispose()
})
beforeEach(async () => {
  scope = Effect.runSync(Scope.make())
  dir = await mkdtemp(join(tmpdir(), "meshkit-bridge-"))
})
afterEach(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await rm(dir, { recursive: true, force: true })
})

const apiModel = (id: string): ModelRecord => ({
  id, format: "onnx", uri: `/models/${id}.onnx`, path: `/models/${id}.onnx`, source: "api", tenant: "default", labels: {}, pinned: false, minCopies: 0, maxCopies: 1, registeredAt: 1
})

/** A runtime whose loads succeed at once, except models named bad-*. */
const runtime = {
  name: "scripted",
  formats: ["onnx"],
  platform: "scripted",
  predictSize: async () => 1000,
  load: async (_path: string, id: string): Promise<LoadedModel> => {
    if (id.startsWith("bad")) throw new LoadFailed({ message: `model ${id} is broken` })
    return { sizeBytes: 1000, inputs: [], outputs: [], infer: async () => [], unload: async () => undefined }
  }
}

const newManager = () =>
  new ModelManager({
    capacityBytes: 1_000_000,
    policy: buildPolicy("eviction", "lru", { rng: makeRng(1), capacityBytes: 1_000_000 }),
    runtimes: modelRuntimes([runtime]),
    metrics: new ServerMetrics({ processMetrics: false }),
    log,
    maxConcurrentLoads: 2,
    loadQueueLimit: 10,
    loadTimeoutMs: 10_000,
    modelConcurrency: 4,
    queueLimit: 10,
    failureMemoryMs: 60_000,
    expireIntervalMs: 1000
  })

/**
 * One server instance's registry side, built the way main.ts composes cluster mode:
 * ClusterModelRegistryLive over ClusterRegistry, a ModelManager seeded from it, the follower, VModels.
 */
const instance = (id: string, prefix: string, opts: { readonly endpoint?: string; readonly modelsDir?: string; readonly timeoutMs?: number } = {}) =>
  Effect.runPromise(
    Scope.extend(
      Effect.gen(function* () {
        const config = resolveConfig({ flags: opts.modelsDir !== undefined ? { models: opts.modelsDir } : {} })
        const layer = ClusterModelRegistryLive.pipe(
          Layer.provideMerge(ClusterRegistry.Default),
          Layer.provideMerge(baseLayer(opts.endpoint ?? etcd.endpoint, { instanceId: id, prefix }, opts.timeoutMs ?? 2_000)),
          Layer.provide(Layer.merge(Layer.succeed(Config, config), logLayer(log)))
        )
        const ctx = yield* Layer.build(layer)
        const registry = Context.get(ctx, ModelRegistry)
        const shared = Context.get(ctx, ClusterRegistry)
        const manager = newManager()
        yield* Effect.addFinalizer(() => Effect.promise(() => manager.close(1_000)))
        for (const r of registry.all()) manager.register(r)
        const off = followSharedRegistry(shared, registry, manager, log)
        yield* Effect.addFinalizer(() => Effect.sync(off))
        return { registry, shared, manager, vmodels: new VModels(registry, manager, log) }
      }),
      scope
    )
  )

const until = async <A>(what: string, check: () => A | undefined | false, ms = 10_000): Promise<A> => {
  const end = Date.now() + ms
  for (;;) {
    const v = check()
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for: ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const rejection = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => {
      throw new Error("expected a failure")
    },
    (e: unknown) => e
  )

describe("cluster-mode model registry", () => {
  it("a model registered through one instance is visible to the other, with a manager entry; deletions follow", async () => {
    const prefix = freshPrefix("visible")
    const a = await instance("a", prefix)
    const b = await instance("b", prefix)
    await a.registry.add(apiModel("m1"))
    // read-your-writes on the registering instance
    expect(a.registry.get("m1")?.uri).toBe("/models/m1.onnx")
    await until("b sees m1", () => b.registry.get("m1"))
    await until("b's manager has an entry for m1", () => b.manager.lookup("m1"))
    expect(b.manager.lookup("m1")!.record).toEqual(apiModel("m1"))
    expect(b.manager.status(b.manager.lookup("m1")!).status).toBe("NOT_LOADED")

    // the same id through the other instance is refused, as on one server
    await expect(b.registry.add(apiModel("m1"))).rejects.toBeInstanceOf(Conflict)

    await b.registry.remove("m1")
    expect(b.registry.get("m1")).toBeUndefined()
    await until("a's manager dropped m1", () => a.manager.lookup("m1") === undefined)
    expect(a.registry.size).toBe(0)
    // and it can be registered again at once
    await b.registry.add(apiModel("m1"))
    await until("a sees m1 again", () => a.manager.lookup("m1"))
  })

  it("--models DIR is registered idempotently by every instance; an API model cannot take a directory model's id", async () => {
    const prefix = freshPrefix("dir")
    const models = join(dir, "models")
    await mkdir(models)
    await writeFile(join(models, "d1.onnx"), "not parsed at registration")
    await writeFile(join(models, "d2.onnx"), "not parsed at registration")
    const a = await instance("a", prefix, { modelsDir: models })
    const b = await instance("b", prefix, { modelsDir: models })
    // a restart of a registers the same models again
    const a2 = await instance("a", prefix, { modelsDir: models })
    for (const i of [a, b, a2]) {
      expect([...i.registry.all()].map((m) => m.id).sort()).toEqual(["d1", "d2"])
      expect(i.manager.lookup("d1")?.record.path).toBe(join(models, "d1.onnx"))
    }
    expect(a.shared.model("d1")?.source).toBe("dir")
    await expect(b.registry.add({ ...apiModel("d1") })).rejects.toThrow(/already registered/)

    // a directory model whose id an API model holds stops that instance's start, naming it
    await a.registry.add(apiModel("clash"))
    const other = join(dir, "other")
    await mkdir(other)
    await writeFile(join(other, "clash.onnx"), "x")
    const err = await rejection(instance("c", prefix, { modelsDir: other }))
    expect(messageOf(err)).toMatch(/cannot register "clash" from the models directory/)
  })

  it("vmodels: set, switch and delete through different instances keep the refcounts consistent", async () => {
    const prefix = freshPrefix("vmodels")
    const a = await instance("a", prefix)
    const b = await instance("b", prefix)
    for (const id of ["m1", "m2", "bad"]) await a.registry.add(apiModel(id))
    await until("b has entries for all three", () => ["m1", "m2", "bad"].every((id) => b.manager.lookup(id)))
    const refs = (id: string) => a.shared.model(id)?.refs

    expect((await a.vmodels.set("v", "m1")).status).toBe("DEFAULT")
    expect(a.vmodels.resolve("v")).toBe("m1")
    await until("b resolves v", () => b.vmodels.resolve("v") === "m1")
    await until("m1 is referenced once", () => refs("m1") === 1)

    // b retargets; the switch happens once m2 is loaded (on b), and a sees it
    const s = await b.vmodels.set("v", "m2", { sync: true })
    expect(s).toMatchObject({ activeModelId: "m2", targetModelId: "m2", status: "DEFAULT" })
    expect(b.manager.isReady(b.manager.lookup("m2")!)).toBe(true)
    await until("a resolves v to m2", () => a.vmodels.resolve("v") === "m2")
    await until("refs moved from m1 to m2", () => refs("m1") === 0 && refs("m2") === 1)
    await a.registry.remove("m1")

    // a model a vmodel uses cannot be deleted from any instance
    await expect(a.registry.remove("m2")).rejects.toThrow(/used by 1 vmodel/)

    // a failed transition stays on the active model and every instance reports it
    const f = await a.vmodels.set("v", "bad", { sync: true })
    expect(f).toMatchObject({ activeModelId: "m2", targetModelId: "bad", status: "TRANSITION_FAILED", error: "model bad is broken" })
    await until("b sees TRANSITION_FAILED", () => b.vmodels.list()[0]?.status === "TRANSITION_FAILED")
    expect(b.vmodels.resolve("v")).toBe("m2")
    await until("both m2 and bad are referenced", () => refs("m2") === 1 && refs("bad") === 1)

    // a vmodel cannot take a model's id, and an unknown target is refused
    await expect(b.vmodels.set("m2", "bad")).rejects.toBeInstanceOf(Conflict)
    await expect(b.vmodels.set("w", "nope")).rejects.toBeInstanceOf(ModelNotFound)

    await b.vmodels.remove("v")
    expect(() => b.vmodels.status("v")).toThrow(ModelNotFound)
    await until("refs released", () => refs("m2") === 0 && refs("bad") === 0)
    await until("a sees v gone", () => a.vmodels.list().length === 0)
    await b.registry.remove("m2")
    await until("a's manager dropped m2", () => a.manager.lookup("m2") === undefined)
  })

  it("etcd stopped: writes fail fast as unavailable (503) with a clear message, reads go on; restarted: writes work, nothing is lost", async () => {
    const own = await startEtcd()
    try {
      const prefix = freshPrefix("outage")
      const timeoutMs = 1_000
      const a = await instance("a", prefix, { endpoint: own.endpoint, timeoutMs })
      await a.registry.add(apiModel("m1"))
      await a.vmodels.set("v", "m1")

      await own.stop()
      for (const [what, write] of [
        ["register", () => a.registry.add(apiModel("m2"))],
        ["set a vmodel", () => a.vmodels.set("v2", "m1")],
        ["delete a model", () => a.registry.remove("m1")]
      ] as const) {
        const t0 = Date.now()
        const err = await rejection(write())
        const took = Date.now() - t0
        // one etcd call bounded by the timeout fails the operation (allowing for a slow machine)
        expect(took, what).toBeLessThan(4 * timeoutMs)
        expect(kindOf(err), what).toBe("unavailable")
        expect(HTTP_STATUS[kindOf(err)]).toBe(503)
        expect(GRPC_STATUS[kindOf(err)]).toBe(grpc.status.UNAVAILABLE)
        expect(messageOf(err), what).toMatch(/^cannot .+: the cluster registry is unavailable \(etcd at http:\/\/127\.0\.0\.1:\d+ /)
      }
      // reads come from the local copy
      expect(a.registry.get("m1")?.id).toBe("m1")
      expect(a.vmodels.resolve("v")).toBe("m1")
      expect(a.registry.get("m2")).toBeUndefined()

      await own.start()
      // the client reconnects within a second or two; until then a write may still fail as unavailable
      const end = Date.now() + 20_000
      for (;;) {
        const err = await a.registry.add(apiModel("m2")).then(() => undefined, (e: unknown) => e)
        if (err === undefined) break
        expect(kindOf(err)).toBe("unavailable")
        if (Date.now() > end) throw new Error(`writes did not recover after etcd restarted: ${messageOf(err)}`)
        await new Promise((r) => setTimeout(r, 200))
      }
      await a.vmodels.set("v2", "m2")
      // a fresh instance sees everything registered before and after the outage
      const b = await instance("b", prefix, { endpoint: own.endpoint, timeoutMs })
      expect([...b.registry.all()].map((m) => m.id).sort()).toEqual(["m1", "m2"])
      expect(b.vmodels.resolve("v")).toBe("m1")
      expect(b.vmodels.resolve("v2")).toBe("m2")
      expect(b.shared.model("m1")?.refs).toBe(1)
      await until("a's watch is back", () => a.shared.connected())
    } finally {
      await own.dispose()
    }
  })

  it("a compare-and-set that keeps losing is also 'unavailable' (503), never a 500", () => {
    const e = new WriteContention({ key: "meshkit/registry/m", message: "gave up writing meshkit/registry/m after 25 compare-and-set conflicts" })
    expect(kindOf(e)).toBe("unavailable")
    expect(HTTP_STATUS[kindOf(e)]).toBe(503)
  })
})
