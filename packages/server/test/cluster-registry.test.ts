/**
 * The cluster's shared model registry on a real etcd: registrations seen across instances through
 * watches, idempotent registration, CAS retries under contention, single-flight copy claims, and
 * vmodel changes moving refcounts in the same transaction.
 */
import { Effect, Either } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { casRetry, done, written } from "../src/cluster/kv-store.js"
import { Conflict } from "../src/errors.js"
import { startEtcd, type EtcdServer } from "./support/etcd.js"
import { eventually, freshPrefix, modelSpec, registryFor, run } from "./support/cluster.js"

let etcd: EtcdServer
beforeAll(async () => {
  etcd = await startEtcd()
})
afterAll(async () => {
  await etcd?.dispose()
})

describe("cluster registry", () => {
  it("two instances see each other's registrations and deletions through their watches", () =>
    run(
      Effect.gen(function* () {
        const prefix = freshPrefix("see")
        const a = yield* registryFor(etcd.endpoint, { instanceId: "a", prefix })
        const b = yield* registryFor(etcd.endpoint, { instanceId: "b", prefix })
        yield* a.registry.register(modelSpec("m1"))
        yield* b.registry.register(modelSpec("m2"))
        yield* eventually("b sees m1", () => b.registry.model("m1"))
        yield* eventually("a sees m2", () => a.registry.model("m2"))
        expect(b.registry.model("m1")?.uri).toBe("/models/m1.onnx")
        yield* a.registry.unregister("m2")
        yield* eventually("b sees m2 gone", () => b.registry.model("m2") === undefined)
        expect([...b.registry.allModels()].map((m) => m.id)).toEqual(["m1"])
      })
    ))

  it("registering the same model twice is idempotent; a different model under the same id is a Conflict", () =>
    run(
      Effect.gen(function* () {
        const prefix = freshPrefix("idem")
        const a = yield* registryFor(etcd.endpoint, { instanceId: "a", prefix })
        const b = yield* registryFor(etcd.endpoint, { instanceId: "b", prefix })
        const [ra, rb] = yield* Effect.all([a.registry.register(modelSpec("m")), b.registry.register(modelSpec("m"))], { concurrency: 2 })
        expect([ra.created, rb.created].sort()).toEqual([false, true])
        const clash = yield* Effect.either(a.registry.register(modelSpec("m", "/elsewhere.onnx")))
        expect(Either.isLeft(clash) && clash.left instanceof Conflict).toBe(true)
      })
    ))

  it("compare-and-set writes that conflict are retried until every one lands", () =>
    run(
      Effect.gen(function* () {
        const prefix = freshPrefix("cas")
        const a = yield* registryFor(etcd.endpoint, { instanceId: "a", prefix })
        const b = yield* registryFor(etcd.endpoint, { instanceId: "b", prefix })
        const key = `${prefix}counter`
        let conflicts = 0
        const increment = (s: typeof a.store) =>
          casRetry(
            key,
            Effect.gen(function* () {
              const cur = yield* s.get(key)
              const n = cur ? Number(cur.value) : 0
              const r = yield* s.txn([{ key, modRevision: cur?.modRevision ?? 0 }], [{ put: key, value: String(n + 1) }])
              if (!r.succeeded) conflicts++
              return written(r.succeeded, n + 1)
            })
          )
        yield* Effect.all(
          Array.from({ length: 20 }, (_, i) => increment(i % 2 === 0 ? a.store : b.store)),
          { concurrency: 20 }
        )
        expect((yield* a.store.get(key))?.value).toBe("20")
        // 20 concurrent read-modify-writes of one key cannot all pass first time.
        expect(conflicts).toBeGreaterThan(0)
        // and a step that finds nothing to write stops at once
        expect(yield* casRetry(key, Effect.succeed(done("same")))).toBe("same")
      })
    ))

  it("copy claims are single-flight: of many concurrent claimers exactly one loads", () =>
    run(
      Effect.gen(function* () {
        const prefix = freshPrefix("flight")
        const regs = yield* Effect.all(["a", "b", "c", "d"].map((id) => registryFor(etcd.endpoint, { instanceId: id, prefix })))
        yield* regs[0].registry.register(modelSpec("m"))
        const results = yield* Effect.all(
          regs.map((r, i) => r.registry.claimCopy("m", ["a", "b", "c", "d"][i], 1000 + i, { whenFewerThan: 1 })),
          { concurrency: 4 }
        )
        expect(results.filter((r) => r.claimed)).toHaveLength(1)
        const winner = ["a", "b", "c", "d"][results.findIndex((r) => r.claimed)]
        const rec = yield* eventually("copy visible", () => {
          const m = regs[3].registry.model("m")
          return m && Object.keys(m.instanceIds).length > 0 ? m : undefined
        })
        expect(Object.keys(rec.instanceIds)).toEqual([winner])
        // a second copy on purpose, then the leader-style prune keeps only live instances
        yield* regs[0].registry.claimCopy("m", "z", 5)
        const pruned = yield* regs[0].registry.pruneCopies("m", (i) => i !== "z")
        expect(Object.keys(pruned.instanceIds)).toEqual([winner])
        const released = yield* regs[0].registry.releaseCopy("m", winner)
        expect(released.instanceIds).toEqual({})
      })
    ))

  it("a vmodel change and its models' refcounts are one transaction; referenced models cannot be deleted", () =>
    run(
      Effect.gen(function* () {
        const prefix = freshPrefix("vm")
        const { registry: r } = yield* registryFor(etcd.endpoint, { instanceId: "a", prefix })
        const { registry: other } = yield* registryFor(etcd.endpoint, { instanceId: "b", prefix })
        yield* r.register(modelSpec("v1"))
        yield* r.register(modelSpec("v2"))
        const created = yield* r.setVModel("alias", "v1")
        expect(created).toMatchObject({ active: "v1", target: "v1" })
        const refs = () => [other.model("v1")?.refs, other.model("v2")?.refs]
        yield* eventually("refs v1=1", () => refs()[0] === 1)
        expect(refs()).toEqual([1, 0])

        // retarget: v2 gains a reference while v1 keeps its own (still active)
        yield* r.setVModel("alias", "v2")
        yield* eventually("refs 1,1", () => refs()[1] === 1)
        expect(refs()).toEqual([1, 1])
        const blocked = yield* Effect.either(r.unregister("v1"))
        expect(Either.isLeft(blocked) && blocked.left instanceof Conflict).toBe(true)

        // the transition completes: v1's reference goes in the same txn as the switch
        yield* r.completeTransition("alias", "v2")
        yield* eventually("refs 0,1", () => refs()[0] === 0)
        expect(refs()).toEqual([0, 1])
        expect(other.vmodel("alias")).toMatchObject({ active: "v2", target: "v2" })

        // concurrent retargets from two instances: refcounts stay exact
        yield* r.register(modelSpec("v3"))
        yield* Effect.all([r.setVModel("alias", "v3"), other.setVModel("alias", "v1")], { concurrency: 2 })
        const { store } = yield* registryFor(etcd.endpoint, { instanceId: "c", prefix })
        const stored = JSON.parse((yield* store.get(`${prefix}vmodels/alias`))!.value) as { active: string; target: string }
        const final = yield* eventually("local copy caught up", () => {
          const v = other.vmodel("alias")
          return v && v.target === stored.target ? v : undefined
        })
        const expected = (id: string) => (final.active === id || final.target === id ? 1 : 0)
        // the models' copies come through their own watch, so may trail the vmodel's
        const refsNow = () => [other.model("v1")?.refs, other.model("v2")?.refs, other.model("v3")?.refs]
        yield* eventually("model copies caught up", () => refsNow().every((n, i) => n === expected(`v${i + 1}`)), 3_000).pipe(
          Effect.catchAllDefect(() => Effect.void)
        )
        expect([other.model("v1")?.refs, other.model("v2")?.refs, other.model("v3")?.refs]).toEqual([expected("v1"), expected("v2"), expected("v3")])

        yield* r.deleteVModel("alias")
        yield* eventually("all refs 0", () => ["v1", "v2", "v3"].every((id) => other.model(id)?.refs === 0))
        yield* r.unregister("v1")
        const clash = yield* Effect.either(r.setVModel("v2", "v3"))
        expect(Either.isLeft(clash) && clash.left instanceof Conflict).toBe(true)
      })
    ))
})
