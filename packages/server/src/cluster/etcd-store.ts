/**
 * KvStore on etcd v3 through the `etcd3` npm client (1.1.x: the maintained Node client, gRPC
 * based, with leases, transactions, watches that resume and elections; checked against etcd 3.4).
 *
 * Every call carries a gRPC deadline AND an Effect timeout of --etcd-timeout: the deadline
 * cancels the call on the wire, the timeout guarantees an answer even if the client library
 * queues the call (its circuit breaker, reconnect backoff).
 */
import { Etcd3, EtcdLeaseInvalidError, isRecoverableError, type IOptions } from "etcd3"
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, type IBackoff, isBrokenCircuitError, retry } from "cockatiel"
import { Deferred, Duration, Effect, Layer, type Scope } from "effect"
import { EtcdUnavailable, LeaseExpired } from "./errors.js"
import { type Campaign, KvStore, type KvStoreApi, type Lease, type Snapshot, type TxnOp } from "./kv-store.js"
import { startPrefixWatch, toEntry } from "./etcd-watch.js"

export interface EtcdConfig {
  /** client URLs, e.g. ["http://127.0.0.1:2379"] */
  readonly endpoints: ReadonlyArray<string>
  /** --etcd-timeout: how long any call waits before failing with EtcdUnavailable (default 5 s) */
  readonly timeoutMs?: number
}

export const DEFAULT_ETCD_TIMEOUT_MS = 5_000

const describe = (e: unknown): string => {
  if (isBrokenCircuitError(e)) return "etcd unreachable (calls paused after repeated connection failures)"
  if (e instanceof Error) return e.message
  return String(e)
}

/**
 * Fault handling tuned for fast recovery: the client's default breaker pauses a host for 5 s
 * after 3 failures and its watch backoff grows to 30 s; either would delay reconciling after
 * etcd comes back far more than the outage itself. One retry, 1 s pause, watch backoff ≤ 2 s.
 */
const clientOptions = (endpoints: ReadonlyArray<string>, timeoutMs: number): IOptions => ({
  hosts: [...endpoints],
  dialTimeout: timeoutMs,
  // A partition without a TCP reset would leave the watch stream hanging; pings find it. etcd
  // refuses pings more often than every 5 s (--grpc-keepalive-min-time), so 10 s.
  grpcOptions: { "grpc.keepalive_time_ms": 10_000, "grpc.keepalive_timeout_ms": timeoutMs },
  faultHandling: {
    host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(3) }),
    global: retry(handleWhen(isRecoverableError), { maxAttempts: 1 }),
    // etcd3 1.1 types this as a backoff but calls `.next()` on it first, i.e. uses it as the
    // factory that ExponentialBackoff is (namespace.js passes it to WatchManager as such).
    watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2_000 }) as unknown as IBackoff<unknown>
  }
})

export const makeEtcdStore = (client: Etcd3, config: EtcdConfig): KvStoreApi => {
  const timeoutMs = config.timeoutMs ?? DEFAULT_ETCD_TIMEOUT_MS
  const where = config.endpoints.join(",")
  const deadline = () => ({ deadline: Date.now() + timeoutMs })

  const unavailable = (operation: string, e: unknown) =>
    new EtcdUnavailable({ operation, message: `etcd at ${where} failed to ${operation}: ${describe(e)}` })

  /** One bounded call. Lease errors are kept apart so membership can re-grant. */
  const call = <A>(operation: string, run: () => Promise<A>): Effect.Effect<A, EtcdUnavailable> =>
    Effect.tryPromise({ try: run, catch: (e) => unavailable(operation, e) }).pipe(
      Effect.timeoutFail({
        duration: Duration.millis(timeoutMs),
        onTimeout: () => new EtcdUnavailable({ operation, message: `etcd at ${where} did not answer ${operation} within ${timeoutMs} ms` })
      })
    )

  const callLeased = <A>(operation: string, lease: string | undefined, run: () => Promise<A>): Effect.Effect<A, EtcdUnavailable | LeaseExpired> =>
    Effect.tryPromise({
      try: run,
      catch: (e): EtcdUnavailable | LeaseExpired =>
        e instanceof EtcdLeaseInvalidError && lease !== undefined
          ? new LeaseExpired({ leaseId: lease, message: `lease ${lease} is gone from etcd (${operation})` })
          : unavailable(operation, e)
    }).pipe(
      Effect.timeoutFail({
        duration: Duration.millis(timeoutMs),
        onTimeout: () => new EtcdUnavailable({ operation, message: `etcd at ${where} did not answer ${operation} within ${timeoutMs} ms` })
      })
    )

  const list = (prefix: string): Effect.Effect<Snapshot, EtcdUnavailable> =>
    call(`list ${prefix}`, () => client.getAll().prefix(prefix).options(deadline()).exec()).pipe(
      Effect.map((res) => ({ entries: res.kvs.map(toEntry), revision: Number(res.header.revision) }))
    )

  const putOp = (op: Extract<TxnOp, { put: string }>) => {
    const b = client.put(op.put).value(op.value)
    return op.lease !== undefined ? b.lease(op.lease) : b
  }

  const lease = (ttlSeconds: number): Effect.Effect<Lease, EtcdUnavailable, Scope.Scope> =>
    Effect.acquireRelease(
      Effect.gen(function* () {
        const lost = yield* Deferred.make<void>()
        const l = client.lease(ttlSeconds, { autoKeepAlive: true, ...deadline() })
        l.on("lost", () => Effect.runSync(Deferred.succeed(lost, undefined)))
        const id = yield* call(`grant a ${ttlSeconds} s lease`, () => l.grant()).pipe(Effect.tapError(() => Effect.sync(() => l.release())))
        return { handle: l, lease: { id, ttlSeconds, lost: Deferred.await(lost), isLost: () => l.revoked() } satisfies Lease }
      }),
      ({ handle }) =>
        // Revoke so our records vanish at once on a clean stop; if etcd is down, they expire with the TTL.
        call("revoke a lease", () => handle.revoke(deadline())).pipe(Effect.ignore)
    ).pipe(Effect.map(({ lease }) => lease))

  const campaign = (prefix: string, value: string, ttlSeconds: number) =>
    Effect.acquireRelease(
      Effect.gen(function* () {
        const elected = yield* Deferred.make<void, EtcdUnavailable>()
        const lost = yield* Deferred.make<void>()
        const c = client.election(prefix, ttlSeconds).campaign(value)
        c.on("elected", () => Effect.runSync(Deferred.succeed(elected, undefined)))
        c.on("error", (e) => {
          Effect.runSync(Deferred.fail(elected, unavailable(`campaign in ${prefix}`, e)))
          Effect.runSync(Deferred.succeed(lost, undefined))
        })
        return { c, campaign: { elected: Deferred.await(elected), lost: Deferred.await(lost) } satisfies Campaign }
      }),
      ({ c }) => call(`resign from ${prefix}`, () => c.resign()).pipe(Effect.ignore)
    ).pipe(Effect.map(({ campaign }) => campaign))

  return {
    timeoutMs,
    endpoints: config.endpoints,
    get: (key) =>
      call(`get ${key}`, () => client.get(key).options(deadline()).exec()).pipe(
        Effect.map((res) => (res.kvs[0] ? toEntry(res.kvs[0]) : undefined))
      ),
    list,
    txn: (guards, ops) => {
      const leaseId = ops.find((o): o is Extract<TxnOp, { put: string }> => "put" in o && o.lease !== undefined)?.lease
      return callLeased(`write ${ops.map((o) => ("put" in o ? o.put : o.delete)).join(", ")}`, leaseId, () => {
        const first = ops[0] ? ("put" in ops[0] ? ops[0].put : ops[0].delete) : ""
        // etcd3's builder starts from a comparison; with no guards use one that always holds.
        let b = guards[0] ? client.if(guards[0].key, "Mod", "==", guards[0].modRevision) : client.if(first, "Mod", ">", -1)
        for (const g of guards.slice(1)) b = b.and(g.key, "Mod", "==", g.modRevision)
        return b
          .then(...ops.map((o) => ("put" in o ? putOp(o) : client.delete().key(o.delete))))
          .options(deadline())
          .commit()
      }).pipe(Effect.map((r) => ({ succeeded: r.succeeded, revision: Number(r.header.revision) })))
    },
    put: (key, value, leaseId) =>
      callLeased(`put ${key}`, leaseId, () => putOp({ put: key, value, lease: leaseId }).options(deadline()).exec()).pipe(Effect.asVoid),
    delete: (key) => call(`delete ${key}`, () => client.delete().key(key).options(deadline()).exec()).pipe(Effect.asVoid),
    watch: (prefix, handler) => startPrefixWatch(client, prefix, handler, { list, timeoutMs }),
    lease,
    campaign
  }
}

/** The etcd-backed KvStore for `meshkit serve --etcd`: one client for the process, closed with the scope. */
export const etcdStoreLayer = (config: EtcdConfig): Layer.Layer<KvStore> =>
  Layer.scoped(
    KvStore,
    Effect.acquireRelease(
      Effect.sync(() => new Etcd3(clientOptions(config.endpoints, config.timeoutMs ?? DEFAULT_ETCD_TIMEOUT_MS))),
      (client) => Effect.sync(() => client.close())
    ).pipe(Effect.map((client) => makeEtcdStore(client, config)))
  )
