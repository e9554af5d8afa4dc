/**
 * Copy claims against releases of stale copy entries, on a real etcd. An evicted copy's entry
 * lingers in the copy map until its instance drops it (the sweep, or a "not here" refusal). If
 * the same instance claims the model again meanwhile, that claim must survive the stale
 * release: otherwise its load runs unlisted, the other instances count one copy too few, and
 * the cluster ends up holding more than maxCopies copies of the model.
 */
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startEtcd, type EtcdServer } from "./support/etcd.js"
import { freshPrefix, modelSpec, registryFor, run } from "./support/cluster.js"

let etcd: EtcdServer
beforeAll(async () => {
  etcd = await startEtcd()
})
afterAll(async () => {
  await etcd?.dispose()
})

/** m's record as etcd has it now (releasing an instance that holds no copy writes nothing) */
const current = (r: { readonly registry: { releaseCopy: (id: string, instanceId: string) => Effect.Effect<{ instanceIds: Record<string, number> }, unknown> } }) =>
  r.registry.releaseCopy("m", "nobody")

describe("cluster copy claims and stale entries", () => {
  it("a claim made after an entry was judged stale stays listed, so maxCopies still holds", () =>
    run(
      Effect.gen(function* () {
        const prefix = freshPrefix("stale-claim")
        const a = yield* registryFor(etcd.endpoint, { instanceId: "a", prefix })
        const b = yield* registryFor(etcd.endpoint, { instanceId: "b", prefix })
        const c = yield* registryFor(etcd.endpoint, { instanceId: "c", prefix })
        yield* a.registry.register({ ...modelSpec("m"), maxCopies: 2 })
        yield* a.registry.claimCopy("m", "a", 1_000)
        yield* b.registry.claimCopy("m", "b", 1_000)
        // a evicted m: its sweep reads the entry (since 1000) and decides to drop it; before that
        // write lands, a request makes a load m again.
        const seen = (yield* current(a)).instanceIds["a"]!
        const again = yield* a.registry.claimCopy("m", "a", 5_000, { whenFewerThan: 1 })
        expect(again.claimed).toBe(true)
        const afterRelease = yield* a.registry.releaseCopy("m", "a", { onlyIfSince: seen })
        expect(Object.keys(afterRelease.instanceIds).sort()).toEqual(["a", "b"])
        // a scale-up on c counts a's load: the model already has its two copies
        const third = yield* c.registry.claimCopy("m", "c", 6_000, { whenFewerThan: 2 })
        expect(third.claimed).toBe(false)
        expect(Object.keys(third.record.instanceIds).sort()).toEqual(["a", "b"])
        // with no claim in between, the same stale release does drop the entry
        const gone = yield* a.registry.releaseCopy("m", "a", { onlyIfSince: afterRelease.instanceIds["a"]! })
        expect(Object.keys(gone.instanceIds)).toEqual(["b"])
      })
    ))

  it("a claim racing a stale release of the same instance's entry is listed whichever lands first", () =>
    run(
      Effect.gen(function* () {
        const prefix = freshPrefix("stale-race")
        const a = yield* registryFor(etcd.endpoint, { instanceId: "a", prefix })
        yield* a.registry.register(modelSpec("m"))
        for (let round = 0; round < 12; round++) {
          const stale = (yield* a.registry.claimCopy("m", "a", 1_000 + round)).record.instanceIds["a"]!
          const [claim] = yield* Effect.all([a.registry.claimCopy("m", "a", 2_000 + round), a.registry.releaseCopy("m", "a", { onlyIfSince: stale })], {
            concurrency: 2
          })
          expect(claim.claimed).toBe(true)
          const listed = (yield* current(a)).instanceIds["a"]
          expect(listed, `round ${round}: the claim was released`).toBeDefined()
        }
      })
    ))
})
