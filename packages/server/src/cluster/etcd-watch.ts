/**
 * A prefix watch that never leaves its consumer with a silently stale view. etcd3's watcher
 * resumes after a reconnect from the last revision it saw, but an outage can outlast etcd's
 * compaction, and a cancelled watch does not come back on its own; so after every reconnect or
 * cancellation we re-read the prefix and hand the consumer a fresh snapshot (`reset`).
 */
import type { Etcd3, IKeyValue, Watcher } from "etcd3"
import { Duration, Effect, Either, type Scope } from "effect"
import { EtcdUnavailable } from "./errors.js"
import type { KvEntry, Snapshot, WatchHandler } from "./kv-store.js"

export const toEntry = (kv: IKeyValue): KvEntry => ({ key: kv.key.toString(), value: kv.value.toString(), modRevision: Number(kv.mod_revision) })

/** Between failed re-reads while etcd is still away: short, the re-read itself is bounded. */
const RESYNC_RETRY_MS = 500

class PrefixWatch {
  private watcher: Watcher | undefined
  private broken = false
  private stopped = false
  private resyncing = false

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly handler: WatchHandler,
    private readonly list: () => Promise<Either.Either<Snapshot, EtcdUnavailable>>
  ) {}

  /** Attach from `fromRevision`; resolves once etcd confirmed the watch. */
  attach(fromRevision: number): Promise<void> {
    const w = this.client.watch().prefix(this.prefix).startRevision(String(fromRevision)).watcher()
    this.watcher = w
    w.on("put", (kv) => this.handler.put(toEntry(kv)))
    w.on("delete", (kv) => this.handler.delete(kv.key.toString(), Number(kv.mod_revision)))
    w.on("disconnected", () => {
      if (this.broken) return
      this.broken = true
      this.handler.disconnected?.()
    })
    w.on("connected", () => {
      if (!this.broken) return
      this.broken = false
      void this.resync(false)
    })
    return new Promise<void>((resolve, reject) => {
      let settled = false
      w.once("connected", () => {
        settled = true
        resolve()
      })
      w.on("error", (e) => {
        if (!settled) {
          settled = true
          reject(e)
          return
        }
        // Cancelled by etcd (e.g. start revision compacted): start over from a fresh read.
        if (this.watcher === w) {
          this.watcher = undefined
          void w.cancel().catch(() => {})
          this.handler.disconnected?.()
          void this.resync(true)
        }
      })
    })
  }

  /** Re-read the prefix until it works (or we are stopped), hand it over, re-attach if asked. */
  private async resync(reattach: boolean): Promise<void> {
    if (this.resyncing) return
    this.resyncing = true
    try {
      while (!this.stopped) {
        const snap = await this.list()
        if (Either.isRight(snap)) {
          if (this.stopped) return
          this.handler.reset(snap.right, "resync")
          if (!reattach) return
          try {
            await this.attach(snap.right.revision + 1)
            return
          } catch {
            // fall through: retry the whole read-and-attach
          }
        }
        await new Promise((r) => setTimeout(r, RESYNC_RETRY_MS))
      }
    } finally {
      this.resyncing = false
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    const w = this.watcher
    this.watcher = undefined
    if (w) await w.cancel()
  }
}

export const startPrefixWatch = (
  client: Etcd3,
  prefix: string,
  handler: WatchHandler,
  deps: { readonly list: (prefix: string) => Effect.Effect<Snapshot, EtcdUnavailable>; readonly timeoutMs: number }
): Effect.Effect<void, EtcdUnavailable, Scope.Scope> =>
  Effect.gen(function* () {
    const snap = yield* deps.list(prefix)
    handler.reset(snap, "start")
    const watch = new PrefixWatch(client, prefix, handler, () => Effect.runPromise(Effect.either(deps.list(prefix))))
    const timeout = Duration.millis(deps.timeoutMs)
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => watch.attach(snap.revision + 1),
        catch: (e) => new EtcdUnavailable({ operation: `watch ${prefix}`, message: `etcd refused to watch ${prefix}: ${e instanceof Error ? e.message : String(e)}` })
      }).pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new EtcdUnavailable({ operation: `watch ${prefix}`, message: `etcd did not start watching ${prefix} within ${deps.timeoutMs} ms` })
        }),
        Effect.tapError(() => Effect.promise(() => watch.stop().catch(() => {})).pipe(Effect.timeout(timeout), Effect.ignore))
      ),
      () => Effect.promise(() => watch.stop().catch(() => {})).pipe(Effect.timeout(timeout), Effect.ignore)
    )
  })
