/**
 * Leader election on a real etcd: exactly one leader, a hand-over when it stops, and the
 * leader's chore pruning copy records of instances that are gone.
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Leader } from "../src/cluster/leader.js"
import { startEtcd, type EtcdServer } from "./support/etcd.js"
import { eventually, freshPrefix, idleStatus, memberFor, modelSpec, run, type Settings } from "./support/cluster.js"

let etcd: EtcdServer
beforeAll(async () => {
  etcd = await startEtcd()
})
afterAll(async () => {
  await etcd?.dispose()
})

const fast = { checkIntervalMs: 50, minPublishIntervalMs: 100, heartbeatMs: 1_000, leaseTtlSeconds: 2, leaderTtlSeconds: 2, pruneIntervalMs: 100, pruneGraceMs: 0 }

/** One instance: membership, registry and a Leader campaigning, in its own scope. */
const instance = (settings: Settings, status = idleStatus()) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const m = yield* memberFor(etcd.endpoint, { ...fast, ...settings }, () => status).pipe(Scope.extend(scope))
    const ctx = yield* Layer.build(Leader.Default.pipe(Layer.provide(m.layer))).pipe(Scope.extend(scope))
    return { ...m, leader: Context.get(ctx, Leader), stop: Scope.close(scope, Exit.void) }
  })

describe("cluster leader", () => {
  it("elects exactly one leader and hands over when it stops", () =>
    run(
      Effect.gen(function* () {
        const prefix = freshPrefix("elect")
        const all = yield* Effect.all(["a", "b", "c"].map((id) => instance({ instanceId: id, prefix })))
        const first = yield* eventually("a leader", () => all.find((i) => i.leader.isLeader()))
        yield* Effect.sleep(500)
        expect(all.filter((i) => i.leader.isLeader())).toHaveLength(1)
        yield* first.stop
        const rest = all.filter((i) => i !== first)
        // it resigned on stop: the next leader takes over without waiting for a TTL
        const second = yield* eventually("a new leader", () => rest.find((i) => i.leader.isLeader()), 5_000)
        expect(second).not.toBe(first)
        yield* Effect.sleep(300)
        expect(rest.filter((i) => i.leader.isLeader())).toHaveLength(1)
        for (const i of rest) yield* i.stop
      })
    ))

  it("the leader prunes copy records of instances that are gone, and keeps those of live ones", () =>
    run(
      Effect.gen(function* () {
        const prefix = freshPrefix("prune")
        const a = yield* instance({ instanceId: "a", prefix }, idleStatus({ models: ["m"] }))
        yield* eventually("a leads", () => a.leader.isLeader())
        yield* a.registry.register(modelSpec("m"))
        yield* a.registry.claimCopy("m", "ghost", 1)
        yield* a.registry.claimCopy("m", "a", 2)
        const rec = yield* eventually("ghost pruned", () => {
          const m = a.registry.model("m")
          return m && !("ghost" in m.instanceIds) ? m : undefined
        })
        expect(Object.keys(rec.instanceIds)).toEqual(["a"])
        // a is alive and holds m: later sweeps leave its entry alone
        yield* Effect.sleep(500)
        expect(Object.keys(a.registry.model("m")!.instanceIds)).toEqual(["a"])
        yield* a.stop
      })
    ))
})
