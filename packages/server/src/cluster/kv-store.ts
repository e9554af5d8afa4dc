/**
 * The key-value store the cluster coordinates through: a small interface with one real
 * implementation on etcd (./etcd-store.ts). Every call is bounded by the store's timeout and
 * fails with EtcdUnavailable instead of hanging; writes are transactions guarded by the
 * revisions the caller read (compare-and-set), retried by `casRetry` on conflict.
 */
import { Context, Effect, type Scope } from "effect"
import { type EtcdUnavailable, type LeaseExpired, WriteContention } from "./errors.js"

export interface KvEntry {
  readonly key: string
  readonly value: string
  /** etcd's mod_revision of this value: the version a compare-and-set is guarded by */
  readonly modRevision: number
}

export interface Snapshot {
  readonly entries: ReadonlyArray<KvEntry>
  /** the store revision the snapshot was read at */
  readonly revision: number
}

/** A transaction guard: `key` is still at `modRevision` (0 = the key must not exist). */
export interface Guard {
  readonly key: string
  readonly modRevision: number
}

export type TxnOp =
  | { readonly put: string; readonly value: string; readonly lease?: string }
  | { readonly delete: string }

export interface TxnResult {
  readonly succeeded: boolean
  readonly revision: number
}

/**
 * Receives a prefix watch. `reset` replaces the whole view: at start, and again after the
 * connection came back (events may have been missed meanwhile, or compacted away). Events may
 * repeat around a reset: apply them by revision (see ./local-table.ts).
 */
export interface WatchHandler {
  readonly reset: (snapshot: Snapshot, cause: "start" | "resync") => void
  readonly put: (entry: KvEntry) => void
  readonly delete: (key: string, revision: number) => void
  /** the watch stream broke; a `reset` with cause "resync" follows once it is back */
  readonly disconnected?: () => void
}

export interface Lease {
  readonly id: string
  readonly ttlSeconds: number
  /** completes when etcd dropped the lease (expired while cut off, or revoked) */
  readonly lost: Effect.Effect<void>
  readonly isLost: () => boolean
}

/** A campaign in an election: `elected` completes once this candidate leads; `lost` when its lease is gone. */
export interface Campaign {
  readonly elected: Effect.Effect<void, EtcdUnavailable>
  readonly lost: Effect.Effect<void>
}

export interface KvStoreApi {
  /** the bound on every call (--etcd-timeout) */
  readonly timeoutMs: number
  readonly endpoints: ReadonlyArray<string>
  readonly get: (key: string) => Effect.Effect<KvEntry | undefined, EtcdUnavailable>
  readonly list: (prefix: string) => Effect.Effect<Snapshot, EtcdUnavailable>
  /** all `guards` hold → apply `ops` atomically; otherwise nothing happens (`succeeded: false`) */
  readonly txn: (guards: ReadonlyArray<Guard>, ops: ReadonlyArray<TxnOp>) => Effect.Effect<TxnResult, EtcdUnavailable | LeaseExpired>
  /** unconditional put (tests and one-off settings; records go through txn) */
  readonly put: (key: string, value: string, lease?: string) => Effect.Effect<void, EtcdUnavailable | LeaseExpired>
  readonly delete: (key: string) => Effect.Effect<void, EtcdUnavailable>
  /** watch a prefix; the first `reset` has been delivered when this succeeds; stops with the scope */
  readonly watch: (prefix: string, handler: WatchHandler) => Effect.Effect<void, EtcdUnavailable, Scope.Scope>
  /** grant a lease kept alive in the background; revoked when the scope closes */
  readonly lease: (ttlSeconds: number) => Effect.Effect<Lease, EtcdUnavailable, Scope.Scope>
  /** campaign under `prefix` with its own lease; resigns when the scope closes */
  readonly campaign: (prefix: string, value: string, ttlSeconds: number) => Effect.Effect<Campaign, never, Scope.Scope>
}

export class KvStore extends Context.Tag("meshkit/server/KvStore")<KvStore, KvStoreApi>() {}

/**
 * One compare-and-set step: read what it needs, then either write (a guarded txn, whose
 * `succeeded` says whether the guards held) or decide that nothing needs writing (`done`).
 */
export type CasStep<A> = { readonly _: "written"; readonly succeeded: boolean; readonly result: A } | { readonly _: "done"; readonly result: A }

export const written = <A>(succeeded: boolean, result: A): CasStep<A> => ({ _: "written", succeeded, result })
export const done = <A>(result: A): CasStep<A> => ({ _: "done", result })

/** ModelMesh retries its CAS loops without bound; 25 tries with backoff covers heavy contention yet terminates. */
const MAX_ATTEMPTS = 25

/**
 * Run `step` until its guarded write succeeds (each attempt re-reads, so it sees the winner's
 * value). Backs off a few jittered milliseconds so racing instances do not collide in lockstep.
 */
export const casRetry = <A, E, R>(key: string, step: Effect.Effect<CasStep<A>, E, R>): Effect.Effect<A, E | WriteContention, R> =>
  Effect.gen(function* () {
    for (let attempt = 1; ; attempt++) {
      const s = yield* step
      if (s._ === "done" || s.succeeded) return s.result
      if (attempt >= MAX_ATTEMPTS) {
        return yield* new WriteContention({ key, message: `gave up writing ${key} after ${attempt} compare-and-set conflicts with other instances` })
      }
      yield* Effect.sleep(Math.floor(Math.random() * 5 * Math.min(attempt, 8)))
    }
  })
