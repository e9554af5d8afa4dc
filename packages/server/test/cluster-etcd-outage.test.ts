/**
 * etcd going away and coming back, on a real etcd process: control-plane writes fail within
 * --etcd-timeout with a clear EtcdUnavailable (never hang), the local copies keep answering,
 * and once etcd is back every instance reconciles without a restart and loses nothing.
 */
import { Effect, Either, Schedule } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { EtcdUnavailable } from "../src/cluster/errors.js"
import { startEtcd, type EtcdServer } from "./support/etcd.js"
import { eventually, freshPrefix, idleStatus, memberFor, modelSpec, run } from "./support/cluster.js"

let etcd: EtcdServer
beforeAll(async () => {
  etcd = await startEtcd()
})
afterAll(async () => {
  await etcd?.dispose()
})

const TIMEOUT_MS = 1_000
const fast = { checkIntervalMs: 50, minPublishIntervalMs: 100, heartbeatMs: 1_000, leaseTtlSeconds: 2 }

describe("cluster with etcd down and back", () => {
  it("writes fail fast with a clear reason, reads keep working, and everything reconciles when etcd returns", () =>
    run(
      Effect.gen(function* () {
        const prefix = freshPrefix("outage")
        const a = yield* memberFor(etcd.endpoint, { instanceId: "a", prefix, ...fast }, () => idleStatus({ models: ["m1"] }), TIMEOUT_MS)
        const b = yield* memberFor(etcd.endpoint, { instanceId: "b", prefix, ...fast }, () => idleStatus(), TIMEOUT_MS)
        yield* a.registry.register(modelSpec("m1"))
        yield* a.registry.claimCopy("m1", "a", 1)
        yield* a.registry.setVModel("alias", "m1")
        yield* eventually("b sees the alias and a", () => b.registry.vmodel("alias") && b.membership.isAlive("a"))
        const leaseBefore = a.membership.leaseId()

        yield* Effect.promise(() => etcd.stop())

        // writes: EtcdUnavailable within the timeout (plus scheduling slack), with a reason a user can act on
        const writes: ReadonlyArray<Effect.Effect<unknown, unknown>> = [
          b.registry.register(modelSpec("m2")),
          a.registry.setVModel("alias2", "m1"),
          b.registry.claimCopy("m1", "b", 2)
        ]
        for (const write of writes) {
          const t0 = Date.now()
          const r = yield* Effect.either(write)
          const took = Date.now() - t0
          const error = Either.isLeft(r) ? r.left : undefined
          expect(error).toBeInstanceOf(EtcdUnavailable)
          if (error instanceof EtcdUnavailable) expect(error.message).toMatch(/etcd at http:\/\/127\.0\.0\.1:\d+ (failed to|did not answer)/)
          expect(took).toBeLessThan(TIMEOUT_MS + 1_500)
        }

        // reads: the local copies still answer, synchronously
        expect(b.registry.model("m1")?.instanceIds).toEqual({ a: 1 })
        expect(b.registry.vmodel("alias")?.active).toBe("m1")
        expect(b.membership.instance("a")?.models).toEqual(["m1"])
        yield* eventually("watches report the outage", () => !b.registry.connected() && !b.membership.table.connected, 5_000)

        // stay down past 2 x the lease TTL, so the client gives up on its lease
        yield* Effect.sleep(4_500)
        yield* Effect.promise(() => etcd.start())

        yield* eventually("watches back", () => a.registry.connected() && b.registry.connected() && b.membership.table.connected, 15_000)
        yield* eventually("both records published again", () => b.membership.isAlive("a") && a.membership.isAlive("b"), 15_000)
        // a's record is in etcd again, bound to a live lease (a new one if etcd dropped the old)
        const stored = yield* a.store.get(`${prefix}instances/a`).pipe(
          Effect.flatMap((e) => (e ? Effect.succeed(e) : Effect.fail(new Error("a's record is not back")))),
          Effect.retry(Schedule.addDelay(Schedule.recurs(100), () => "100 millis"))
        )
        expect(JSON.parse(stored.value).models).toEqual(["m1"])
        if (a.membership.leaseId() !== leaseBefore) expect(a.membership.grants()).toBeGreaterThanOrEqual(2)

        // new writes work, and nothing written before the outage was lost
        yield* b.registry.register(modelSpec("m2")).pipe(Effect.retry({ times: 20, while: (e) => e instanceof EtcdUnavailable }))
        yield* eventually("a sees m2", () => a.registry.model("m2"), 5_000)
        const m1 = JSON.parse((yield* a.store.get(`${prefix}registry/m1`))!.value)
        expect(m1.instanceIds).toEqual({ a: 1 })
        expect(m1.refs).toBe(1)
        expect(JSON.parse((yield* a.store.get(`${prefix}vmodels/alias`))!.value)).toMatchObject({ active: "m1", target: "m1" })
      })
    ))
})
