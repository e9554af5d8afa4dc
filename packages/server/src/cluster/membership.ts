/**
 * Membership: this instance's record in etcd, bound to a lease (it vanishes when the instance
 * dies), and a watched synchronous view of every instance's record.
 *
 * The record is published when it changes significantly (at most every minPublishIntervalMs)
 * and at least every heartbeatMs. When the lease is lost (etcd gone longer than its TTL, or it
 * was revoked) a new one is granted and the record re-published; after the watch reconnects the
 * record is re-published too. Each (re)start reconciles this instance's entries in the copy
 * maps with what it really holds: on a restart with the same id it holds nothing, so it does
 * not claim the copies of its previous life.
 */
import { Context, Effect, Either, Exit, ExecutionStrategy, Scope } from "effect"
import type { ModelNotFound } from "../errors.js"
import { ClusterRegistry, type StoreError } from "./cluster-registry.js"
import { ClusterConfig } from "./config.js"
import { KvStore, type Lease, type WatchHandler } from "./kv-store.js"
import { LocalTable } from "./local-table.js"
import { decoderFor, InstanceRecord, type InstanceStatus } from "./records.js"

/** What this instance reports about itself; the server implements it from its model manager. */
export interface LocalInstanceApi {
  /**
   * Current figures. A model must be listed in `loadingModels` before this instance claims a
   * copy of it, and stay in `models` or `loadingModels` while the copy entry stands.
   */
  readonly status: () => InstanceStatus
}
export class LocalInstance extends Context.Tag("meshkit/server/LocalInstance")<LocalInstance, LocalInstanceApi>() {}

/** Worth telling the others at once: anything placement and routing decide on moved. */
export const significantChange = (prev: InstanceStatus, next: InstanceStatus): boolean =>
  prev.shuttingDown !== next.shuttingDown ||
  prev.capacityBytes !== next.capacityBytes ||
  prev.loadSlots !== next.loadSlots ||
  prev.httpUrl !== next.httpUrl ||
  !sameList(prev.models, next.models) ||
  !sameList(prev.loadingModels, next.loadingModels) ||
  Math.abs(prev.usedBytes - next.usedBytes) > 0.02 * Math.max(next.capacityBytes, 1) ||
  Math.abs(prev.rpm - next.rpm) > Math.max(10, 0.2 * prev.rpm) ||
  Math.abs(prev.inFlight - next.inFlight) > Math.max(4, 0.5 * prev.inFlight) ||
  JSON.stringify(prev.labels) !== JSON.stringify(next.labels)

const sameList = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) => a.length === b.length && a.every((x, i) => x === b[i])

/** Between attempts to get a lease back while etcd is away. */
const REGRANT_RETRY_MS = 500

const decodeInstance = decoderFor(InstanceRecord)

export class Membership extends Effect.Service<Membership>()("meshkit/server/Membership", {
  scoped: Effect.gen(function* () {
    const store = yield* KvStore
    const cfg = yield* ClusterConfig
    const local = yield* LocalInstance
    const registry = yield* ClusterRegistry
    const { instanceId, keys } = cfg
    const myKey = keys.instance(instanceId)
    const startedAt = Date.now()

    const table = new LocalTable<InstanceRecord>(keys.instances, decodeInstance)
    let republish = false
    const handler: WatchHandler = {
      reset: (snap, cause) => {
        table.reset(snap)
        if (cause === "resync") republish = true
      },
      put: table.put,
      delete: (key, rev) => {
        table.delete(key, rev)
        if (key === myKey) republish = true
      },
      disconnected: table.disconnected
    }
    yield* store.watch(keys.instances, handler)

    let last: { readonly status: InstanceStatus; readonly at: number } | undefined
    let currentLease: Lease | undefined
    let grants = 0

    const publish = (lease: Lease) =>
      Effect.gen(function* () {
        const status = local.status()
        const now = Date.now()
        const record: InstanceRecord = { ...status, id: instanceId, startedAt, publishedAt: now }
        yield* store.put(myKey, JSON.stringify(record), lease.id)
        last = { status, at: now }
      })

    /** Make the copy maps agree with what this instance holds (both ways). */
    const reconcile = Effect.gen(function* () {
      const status = local.status()
      const loaded = new Set(status.models)
      const loading = new Set(status.loadingModels)
      for (const m of [...registry.allModels()]) {
        const listed = instanceId in m.instanceIds
        const fix: Effect.Effect<unknown, ModelNotFound | StoreError> | undefined =
          listed && !loaded.has(m.id) && !loading.has(m.id)
            ? registry.releaseCopy(m.id, instanceId, { onlyIfSince: m.instanceIds[instanceId]! })
            : !listed && loaded.has(m.id)
              ? // within maxCopies, as every claim; a copy refused here is surplus (the sweep unloads it)
                registry.claimCopy(m.id, instanceId, Date.now(), { whenFewerThan: Math.max(1, m.maxCopies), isAlive: (i) => i === instanceId || table.has(i) })
              : undefined
        if (fix) yield* fix.pipe(Effect.catchTag("ModelNotFound", () => Effect.void))
      }
    })

    /** Grant a lease in `scope`, publish, reconcile; the lease is revoked when `scope` closes. */
    const establish = (scope: Scope.Scope) =>
      Effect.gen(function* () {
        const lease = yield* store.lease(cfg.leaseTtlSeconds).pipe(Scope.extend(scope))
        yield* publish(lease)
        currentLease = lease
        grants++
        republish = false
        yield* reconcile
        return lease
      })

    /** Publish when due until the lease is gone. While etcd is away, retry at a calm pace and log once. */
    const tend = (lease: Lease) =>
      Effect.gen(function* () {
        let lastReconcile = Date.now()
        let failing = false
        let nextAttempt = 0
        while (!lease.isLost()) {
          yield* Effect.sleep(cfg.checkIntervalMs)
          const now = Date.now()
          if (now < nextAttempt) continue
          const status = local.status()
          const since = last ? now - last.at : Number.POSITIVE_INFINITY
          const reconnected = republish
          const due =
            reconnected || since >= cfg.heartbeatMs || (since >= cfg.minPublishIntervalMs && (!last || significantChange(last.status, status)))
          if (!due) continue
          republish = false
          const outcome = yield* publish(lease).pipe(
            Effect.as("published" as const),
            Effect.catchTag("LeaseExpired", () => Effect.succeed("lease-gone" as const)),
            Effect.catchTag("EtcdUnavailable", (e) =>
              Effect.gen(function* () {
                if (!failing) yield* Effect.logWarning("cluster: cannot publish this instance's record; retrying", { error: e.message })
                failing = true
                republish = true // publish and reconcile as soon as etcd answers again
                nextAttempt = now + Math.max(cfg.minPublishIntervalMs, 1_000)
                return "failed" as const
              })
            )
          )
          if (outcome === "lease-gone") return
          if (outcome === "failed") continue
          if (failing) yield* Effect.logInfo("cluster: this instance's record is published again")
          failing = false
          if (reconnected || now - lastReconcile >= cfg.heartbeatMs) {
            lastReconcile = now
            yield* reconcile.pipe(Effect.catchAll((e) => Effect.logWarning("cluster: cannot reconcile copy records", { error: e.message })))
          }
        }
      })

    const outer = yield* Effect.scope
    let sessionScope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
    let lease = yield* establish(sessionScope)

    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          yield* Effect.raceFirst(tend(lease), lease.lost)
          yield* Effect.logWarning("cluster: this instance's lease is gone; granting a new one", { lease: lease.id })
          yield* Scope.close(sessionScope, Exit.void)
          for (;;) {
            sessionScope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
            const next = yield* Effect.either(establish(sessionScope))
            if (Either.isRight(next)) {
              lease = next.right
              return
            }
            yield* Scope.close(sessionScope, Exit.void)
            yield* Effect.sleep(REGRANT_RETRY_MS)
          }
        })
      )
    )

    return {
      instanceId,
      /** every live instance's record (this one included), as last seen */
      instances: (): IterableIterator<InstanceRecord> => table.values(),
      instance: (id: string): InstanceRecord | undefined => table.get(id),
      isAlive: (id: string): boolean => table.has(id),
      /** the local view of instances; `connected` false while etcd is away */
      table,
      /** the lease our record is bound to now, and how many were granted (1 + re-grants) */
      leaseId: (): string | undefined => currentLease?.id,
      grants: (): number => grants,
      /** publish now (e.g. on shutdown start); fails when etcd is away */
      publishNow: Effect.suspend(() => (currentLease ? publish(currentLease) : Effect.void))
    }
  })
}) {}
