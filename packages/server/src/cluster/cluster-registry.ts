/**
 * The model and vmodel registry shared by the cluster, kept in etcd. Reads come from local
 * copies fed by prefix watches (synchronous, never waiting on etcd); every write is a
 * compare-and-set on the revisions it read, retried on conflict. A vmodel change and the
 * reference counts of the models it starts or stops pointing at are one transaction.
 */
import { Effect } from "effect"
import { Conflict, ModelNotFound } from "../errors.js"
import type { ModelRecord } from "../registry/registry.js"
import { ClusterConfig } from "./config.js"
import type { EtcdUnavailable, LeaseExpired, WriteContention } from "./errors.js"
import { casRetry, done, type Guard, KvStore, type TxnOp, written } from "./kv-store.js"
import { LocalTable } from "./local-table.js"
import { ClusterModelRecord, ClusterVModelRecord, decoderFor, identityOf, referencedBy } from "./records.js"

export type StoreError = EtcdUnavailable | WriteContention

export interface Registered {
  readonly record: ClusterModelRecord
  /** false when the same model was already registered (by this or another instance) */
  readonly created: boolean
}

const decodeModel = decoderFor(ClusterModelRecord)
const decodeVModel = decoderFor(ClusterVModelRecord)

/** A guarded write failing on a lease is impossible here (registry records are persistent). */
const noLease = <A, E, R>(e: Effect.Effect<A, E | LeaseExpired, R>) =>
  Effect.catchTag(e, "LeaseExpired", (l) => Effect.die(l))

export class ClusterRegistry extends Effect.Service<ClusterRegistry>()("meshkit/server/ClusterRegistry", {
  scoped: Effect.gen(function* () {
    const store = yield* KvStore
    const { keys } = yield* ClusterConfig
    const models = new LocalTable<ClusterModelRecord>(keys.registry, decodeModel)
    const vmodels = new LocalTable<ClusterVModelRecord>(keys.vmodels, decodeVModel)
    yield* store.watch(keys.registry, models)
    yield* store.watch(keys.vmodels, vmodels)

    const readModel = (id: string) =>
      store.get(keys.model(id)).pipe(Effect.map((e) => (e ? { rec: decodeModel(e.value), rev: e.modRevision } : { rec: undefined, rev: 0 })))
    const readVModel = (id: string) =>
      store.get(keys.vmodel(id)).pipe(Effect.map((e) => (e ? { rec: decodeVModel(e.value), rev: e.modRevision } : { rec: undefined, rev: 0 })))

    /**
     * CAS-update one model record: `f` gets the current record and returns the next one, or
     * undefined for "nothing to write". Fails ModelNotFound when the model is not registered.
     */
    const updateModel = (
      id: string,
      f: (m: ClusterModelRecord) => ClusterModelRecord | undefined
    ): Effect.Effect<ClusterModelRecord, StoreError | ModelNotFound> =>
      casRetry(
        keys.model(id),
        Effect.gen(function* () {
          const { rec, rev } = yield* readModel(id)
          if (!rec) return yield* new ModelNotFound({ message: `model "${id}" is not registered in the cluster` })
          const next = f(rec)
          if (next === undefined) return done(rec)
          const r = yield* noLease(store.txn([{ key: keys.model(id), modRevision: rev }], [{ put: keys.model(id), value: JSON.stringify(next) }]))
          return written(r.succeeded, next)
        })
      )

    /**
     * Write a vmodel change together with the refcounts it moves: every model whose reference
     * from this vmodel appears or disappears gets +1/−1 in the same guarded txn.
     */
    const writeVModel = (
      id: string,
      before: { rec: ClusterVModelRecord | undefined; rev: number },
      after: ClusterVModelRecord | undefined,
      mustExist: ReadonlyArray<string>
    ): Effect.Effect<boolean, StoreError | ModelNotFound> =>
      Effect.gen(function* () {
        const was = referencedBy(before.rec)
        const now = referencedBy(after)
        const touched = new Set([...mustExist, ...[...was].filter((m) => !now.has(m)), ...[...now].filter((m) => !was.has(m))])
        const guards: Guard[] = [{ key: keys.vmodel(id), modRevision: before.rev }]
        const ops: TxnOp[] = [after ? { put: keys.vmodel(id), value: JSON.stringify(after) } : { delete: keys.vmodel(id) }]
        for (const m of touched) {
          const { rec, rev } = yield* readModel(m)
          const delta = (now.has(m) ? 1 : 0) - (was.has(m) ? 1 : 0)
          if (!rec) {
            // A model that is gone needs no decrement; one we are about to point at must exist.
            if (delta > 0 || mustExist.includes(m)) return yield* new ModelNotFound({ message: `model "${m}" is not registered in the cluster` })
            guards.push({ key: keys.model(m), modRevision: 0 })
            continue
          }
          guards.push({ key: keys.model(m), modRevision: rev })
          if (delta !== 0) ops.push({ put: keys.model(m), value: JSON.stringify({ ...rec, refs: Math.max(0, rec.refs + delta) }) })
        }
        const r = yield* noLease(store.txn(guards, ops))
        return r.succeeded
      })

    return {
      /** the local copies, for callers that want change notifications */
      models,
      vmodels,
      model: (id: string): ClusterModelRecord | undefined => models.get(id),
      allModels: (): IterableIterator<ClusterModelRecord> => models.values(),
      vmodel: (id: string): ClusterVModelRecord | undefined => vmodels.get(id),
      allVModels: (): IterableIterator<ClusterVModelRecord> => vmodels.values(),
      /** false while a watch is broken (etcd away): reads are served, possibly stale */
      connected: (): boolean => models.connected && vmodels.connected,

      /**
       * Register a model. Idempotent: several instances registering the same model (same uri,
       * format and settings) all succeed and share one record; a different model under a taken
       * id (or a vmodel's id) is a Conflict.
       */
      register: (spec: ModelRecord): Effect.Effect<Registered, StoreError | Conflict> =>
        casRetry<Registered, StoreError | Conflict, never>(
          keys.model(spec.id),
          Effect.gen(function* () {
            const { rec } = yield* readModel(spec.id)
            if (rec) {
              if (identityOf(rec) === identityOf(spec)) return done({ record: rec, created: false })
              return yield* new Conflict({ message: `model "${spec.id}" is already registered with a different uri or settings` })
            }
            const v = yield* readVModel(spec.id)
            if (v.rev !== 0) return yield* new Conflict({ message: `"${spec.id}" is already a vmodel` })
            const record: ClusterModelRecord = { ...spec, instanceIds: {}, failedIn: {}, refs: 0 }
            const r = yield* noLease(
              store.txn(
                [
                  { key: keys.model(spec.id), modRevision: 0 },
                  { key: keys.vmodel(spec.id), modRevision: 0 }
                ],
                [{ put: keys.model(spec.id), value: JSON.stringify(record) }]
              )
            )
            return written(r.succeeded, { record, created: true })
          })
        ),

      /** Remove a model; refused (Conflict) while a vmodel points at it. */
      unregister: (id: string): Effect.Effect<ClusterModelRecord, StoreError | ModelNotFound | Conflict> =>
        casRetry(
          keys.model(id),
          Effect.gen(function* () {
            const { rec, rev } = yield* readModel(id)
            if (!rec) return yield* new ModelNotFound({ message: `model "${id}" is not registered in the cluster` })
            if (rec.refs > 0) return yield* new Conflict({ message: `model "${id}" is used by ${rec.refs} vmodel(s); delete or retarget them first` })
            const r = yield* noLease(store.txn([{ key: keys.model(id), modRevision: rev }], [{ delete: keys.model(id) }]))
            return written(r.succeeded, rec)
          })
        ),

      /**
       * Cluster-wide single flight: record `instanceId` as a copy (loading since `loadStartMs`)
       * BEFORE its load starts. With `whenFewerThan: 1` the claim is made only if no instance
       * holds or loads a copy yet; `claimed: false` then means: route to the holders instead.
       */
      claimCopy: (
        id: string,
        instanceId: string,
        loadStartMs: number,
        opts: {
          readonly whenFewerThan?: number
          /**
           * count only the copies this says are alive (a dead holder's entry lingers until
           * pruned); `since` is the entry's start time, which a claim rewrites, so a caller can
           * tell a stale entry it saw from a claim made since
           */
          readonly isAlive?: (instanceId: string, since: number) => boolean
        } = {}
      ): Effect.Effect<{ readonly claimed: boolean; readonly record: ClusterModelRecord }, StoreError | ModelNotFound> => {
        let claimed = false
        return updateModel(id, (m) => {
          // set again on every attempt: a compare-and-set retry re-reads the record
          claimed = false
          const held = m.instanceIds[instanceId]
          if (held !== undefined) {
            // Already listed (often a stale entry: the copy was evicted and its entry not yet
            // dropped). The claim rewrites it with a new start time, so a release of the stale
            // entry running meanwhile (`onlyIfSince` the old time) leaves this claim listed;
            // keeping the old entry let that release delete it, and the load then ran unlisted
            // while other instances placed more copies than maxCopies.
            claimed = true
            return { ...m, instanceIds: { ...m.instanceIds, [instanceId]: Math.max(loadStartMs, held + 1) } }
          }
          const alive = opts.isAlive
          const holders = alive === undefined ? Object.keys(m.instanceIds).length : Object.entries(m.instanceIds).filter(([i, since]) => alive(i, since)).length
          if (holders >= (opts.whenFewerThan ?? Number.POSITIVE_INFINITY)) return undefined
          claimed = true
          const { [instanceId]: _, ...failedIn } = m.failedIn
          return { ...m, instanceIds: { ...m.instanceIds, [instanceId]: loadStartMs }, failedIn }
        }).pipe(Effect.map((record) => ({ claimed, record })))
      },

      /**
       * Drop `instanceId`'s copy entry (unloaded, evicted, or its load failed). `onlyIfSince`: drop
       * it only if it is still the entry the caller judged stale (same start time), not a claim
       * made since then.
       */
      releaseCopy: (id: string, instanceId: string, opts: { readonly onlyIfSince?: number } = {}): Effect.Effect<ClusterModelRecord, StoreError | ModelNotFound> =>
        updateModel(id, (m) => {
          const since = m.instanceIds[instanceId]
          if (since === undefined || (opts.onlyIfSince !== undefined && since !== opts.onlyIfSince)) return undefined
          const { [instanceId]: _, ...rest } = m.instanceIds
          return { ...m, instanceIds: rest }
        }),

      /** A load failed on `instanceId`: drop its copy entry and remember why (ModelMesh failedIn). */
      recordLoadFailure: (id: string, instanceId: string, message: string, atMs: number): Effect.Effect<ClusterModelRecord, StoreError | ModelNotFound> =>
        updateModel(id, (m) => {
          const { [instanceId]: _, ...rest } = m.instanceIds
          return { ...m, instanceIds: rest, failedIn: { ...m.failedIn, [instanceId]: { atMs, message } } }
        }),

      /** Drop every copy entry whose instance fails `keep` (the leader's prune, an instance's reconcile). */
      pruneCopies: (id: string, keep: (instanceId: string) => boolean): Effect.Effect<ClusterModelRecord, StoreError | ModelNotFound> =>
        updateModel(id, (m) => {
          const gone = Object.keys(m.instanceIds).filter((i) => !keep(i))
          if (gone.length === 0) return undefined
          const rest = { ...m.instanceIds }
          for (const i of gone) delete rest[i]
          return { ...m, instanceIds: rest }
        }),

      /**
       * Point vmodel `id` at `target` (ModelMesh setVModel). A new vmodel starts on its target;
       * an existing one keeps serving `active` until `completeTransition`. Refcounts move in the
       * same transaction. `expectedTarget` makes it a guarded change (Conflict when it moved).
       */
      setVModel: (
        id: string,
        target: string,
        opts: { readonly expectedTarget?: string } = {}
      ): Effect.Effect<ClusterVModelRecord, StoreError | ModelNotFound | Conflict> =>
        casRetry(
          keys.vmodel(id),
          Effect.gen(function* () {
            if (models.has(id) || (yield* readModel(id)).rev !== 0) return yield* new Conflict({ message: `"${id}" is already a model id` })
            const before = yield* readVModel(id)
            if (opts.expectedTarget !== undefined && before.rec?.target !== opts.expectedTarget) {
              return yield* new Conflict({ message: `vmodel "${id}" targets ${before.rec ? `"${before.rec.target}"` : "nothing"}, not "${opts.expectedTarget}"` })
            }
            if (before.rec && before.rec.target === target && before.rec.targetFailed === undefined) return done(before.rec)
            const after: ClusterVModelRecord = { id, active: before.rec?.active ?? target, target }
            return written(yield* writeVModel(id, before, after, [target]), after)
          })
        ),

      /** The target is loaded: switch `active` to it (only if it is still the target). */
      completeTransition: (id: string, target: string): Effect.Effect<ClusterVModelRecord | undefined, StoreError | ModelNotFound> =>
        casRetry(
          keys.vmodel(id),
          Effect.gen(function* () {
            const before = yield* readVModel(id)
            if (!before.rec || before.rec.target !== target || before.rec.active === target) return done(before.rec)
            const after: ClusterVModelRecord = { id, active: target, target }
            return written(yield* writeVModel(id, before, after, []), after)
          })
        ),

      /** Loading the target failed: keep serving `active`, report TRANSITION_FAILED. */
      markTransitionFailed: (id: string, target: string, message: string): Effect.Effect<void, StoreError> =>
        casRetry(
          keys.vmodel(id),
          Effect.gen(function* () {
            const before = yield* readVModel(id)
            if (!before.rec || before.rec.target !== target || before.rec.targetFailed === message) return done(undefined)
            const after = { ...before.rec, targetFailed: message }
            const r = yield* noLease(store.txn([{ key: keys.vmodel(id), modRevision: before.rev }], [{ put: keys.vmodel(id), value: JSON.stringify(after) }]))
            return written(r.succeeded, undefined)
          })
        ),

      deleteVModel: (id: string): Effect.Effect<void, StoreError | ModelNotFound> =>
        casRetry(
          keys.vmodel(id),
          Effect.gen(function* () {
            const before = yield* readVModel(id)
            if (!before.rec) return yield* new ModelNotFound({ message: `vmodel "${id}" does not exist` })
            return written(yield* writeVModel(id, before, undefined, []), undefined)
          })
        )
    }
  })
}) {}
