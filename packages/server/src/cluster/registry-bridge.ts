/**
 * Cluster mode for the server's ModelRegistry and VModels: the same API the control plane and
 * the rest of the server use, backed by the shared etcd registry (./cluster-registry.ts).
 * Reads come from its watched local copies (synchronous, never waiting on etcd); every write is
 * one of its compare-and-set operations, so a vmodel change and its targets' refcounts are one
 * transaction. etcd away → a write fails within --etcd-timeout with EtcdUnavailable (kind
 * "unavailable": 503 / UNAVAILABLE) while reads keep answering from the copy.
 *
 * How main.ts composes cluster mode (file mode stays ModelRegistryLive):
 *
 *   Layer.mergeAll(HttpServerLive, GrpcServerLive).pipe(
 *     Layer.provideMerge(ServingLive),
 *     Layer.provideMerge(Layer.merge(VModelsLive, SharedRegistryFollowerLive)),  // VModelsLive is the same in both modes
 *     Layer.provideMerge(ModelManagerLive),         // registers every model the shared registry holds at start
 *     Layer.provideMerge(ClusterModelRegistryLive), // ModelRegistry; registers --models DIR idempotently
 *     Layer.provideMerge(ClusterRegistry.Default),  // needs KvStore (etcdStoreLayer) + ClusterConfig
 *     …)
 */
import { Effect, Either, Layer } from "effect"
import { Conflict, messageOf } from "../errors.js"
import { ModelManager } from "../instance/model-manager.js"
import { Log } from "../observability/log.js"
import { registerModelsDir } from "../registry/live.js"
import { ModelRegistry, type ModelRecord, type RegistryStore, type VModelRecord } from "../registry/registry.js"
import { ClusterRegistry } from "./cluster-registry.js"
import { ClusterConfig } from "./config.js"
import { EtcdUnavailable } from "./errors.js"
import type { LocalTable } from "./local-table.js"
import { type ClusterModelRecord, identityOf } from "./records.js"

/** The shared record as the file registry's record: the copy map and refcount stay in the cluster layer. */
const toModelRecord = (c: ClusterModelRecord, path: string): ModelRecord => ({
  id: c.id,
  format: c.format,
  uri: c.uri,
  path,
  source: c.source,
  tenant: c.tenant,
  labels: c.labels,
  pinned: c.pinned,
  minCopies: c.minCopies,
  maxCopies: c.maxCopies,
  ...(c.sha256 !== undefined ? { sha256: c.sha256 } : {}),
  ...(c.sizeBytes !== undefined ? { sizeBytes: c.sizeBytes } : {}),
  ...(c.batching !== undefined ? { batching: c.batching } : {}),
  ...(c.warmup !== undefined ? { warmup: c.warmup } : {}),
  registeredAt: c.registeredAt
})

const sameVModel = (a: VModelRecord | undefined, b: VModelRecord | undefined) =>
  a?.active === b?.active && a?.target === b?.target && a?.targetFailed === b?.targetFailed

/**
 * RegistryStore over the shared registry. After each write it waits (briefly, bounded) until
 * its own watch has delivered the change, so this instance reads its own writes: a vmodel set
 * here resolves here at once, a model deleted here can be registered again here at once.
 */
export class SharedRegistryStore implements RegistryStore {
  /** models this instance found in --models DIR: their local path wins over the registering instance's */
  private readonly localDir = new Map<string, ModelRecord>()
  private converted = new WeakMap<ClusterModelRecord, ModelRecord>()

  constructor(
    private readonly shared: ClusterRegistry,
    /** how long a write waits for the local copy to show it (the watch usually takes milliseconds) */
    private readonly settleMs: number
  ) {}

  get size(): number {
    return this.shared.models.size
  }
  model(id: string): ModelRecord | undefined {
    const c = this.shared.model(id)
    return c === undefined ? undefined : this.convert(c)
  }
  *models(): IterableIterator<ModelRecord> {
    for (const c of this.shared.allModels()) yield this.convert(c)
  }
  vmodel(id: string): VModelRecord | undefined {
    return this.shared.vmodel(id)
  }
  vmodels(): IterableIterator<VModelRecord> {
    return this.shared.allVModels()
  }

  async addModel(r: ModelRecord): Promise<void> {
    const before = this.shared.models.revisionOf(r.id)
    const { created } = await this.run(`register model "${r.id}"`, this.shared.register(r))
    if (!created) throw new Conflict({ message: `model "${r.id}" is already registered` })
    await this.settle(this.shared.models, r.id, before, (m) => m !== undefined)
  }

  async addDirectoryModel(r: ModelRecord): Promise<void> {
    this.localDir.set(r.id, r)
    this.converted = new WeakMap()
    const before = this.shared.models.revisionOf(r.id)
    const { record } = await this.run(`register model "${r.id}" from the models directory`, this.shared.register(r))
    if (record.source === "api") {
      this.localDir.delete(r.id)
      throw new Conflict({ message: `model "${r.id}" in the models directory clashes with a model registered through the API` })
    }
    await this.settle(this.shared.models, r.id, before, (m) => m !== undefined)
  }

  async removeModel(id: string): Promise<ModelRecord> {
    const before = this.shared.models.revisionOf(id)
    const removed = await this.run(`unregister model "${id}"`, this.shared.unregister(id))
    await this.settle(this.shared.models, id, before, (m) => m === undefined)
    return toModelRecord(removed, removed.path)
  }

  async setVModelTarget(id: string, target: string): Promise<VModelRecord> {
    const before = this.shared.vmodels.revisionOf(id)
    const v = await this.run(`point vmodel "${id}" at "${target}"`, this.shared.setVModel(id, target))
    await this.settle(this.shared.vmodels, id, before, (seen) => sameVModel(seen, v))
    return v
  }

  async completeTransition(id: string, target: string): Promise<VModelRecord | undefined> {
    const before = this.shared.vmodels.revisionOf(id)
    const v = await this.run(`switch vmodel "${id}" to "${target}"`, this.shared.completeTransition(id, target))
    await this.settle(this.shared.vmodels, id, before, (seen) => sameVModel(seen, v))
    return v
  }

  async markTransitionFailed(id: string, target: string, message: string): Promise<void> {
    const before = this.shared.vmodels.revisionOf(id)
    await this.run(`record the failed transition of vmodel "${id}"`, this.shared.markTransitionFailed(id, target, message))
    await this.settle(this.shared.vmodels, id, before, (seen) => seen === undefined || seen.target !== target || seen.targetFailed === message)
  }

  async removeVModel(id: string): Promise<void> {
    const before = this.shared.vmodels.revisionOf(id)
    await this.run(`delete vmodel "${id}"`, this.shared.deleteVModel(id))
    await this.settle(this.shared.vmodels, id, before, (seen) => seen === undefined)
  }

  private convert(c: ClusterModelRecord): ModelRecord {
    let r = this.converted.get(c)
    if (r === undefined) {
      const local = this.localDir.get(c.id)
      r = toModelRecord(c, local !== undefined && identityOf(local) === identityOf(c) ? local.path : c.path)
      this.converted.set(c, r)
    }
    return r
  }

  /**
   * Run one of the shared registry's operations as a promise that rejects with its typed error
   * (kinded, so the transports answer 503/404/409 without knowing the class). An etcd failure
   * says what could not be done.
   */
  private run<A, E>(what: string, op: Effect.Effect<A, E>): Promise<A> {
    const described = Effect.mapError(op, (e) =>
      e instanceof EtcdUnavailable ? new EtcdUnavailable({ operation: e.operation, message: `cannot ${what}: the cluster registry is unavailable (${e.message})` }) : e
    )
    return Effect.runPromise(Effect.either(described)).then((r) => (Either.isLeft(r) ? Promise.reject(r.left) : r.right))
  }

  /** Wait until the local copy shows a write (its row moved, or it reads as expected), at most settleMs. */
  private settle<T>(table: LocalTable<T>, id: string, revisionBefore: number, expected: (v: T | undefined) => boolean): Promise<void> {
    const ok = () => table.revisionOf(id) !== revisionBefore || expected(table.get(id))
    if (ok() || !table.connected) return Promise.resolve()
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer)
        off()
        resolve()
      }
      const off = table.onChange((changed) => {
        if (changed === id && ok()) finish()
      })
      const timer = setTimeout(finish, this.settleMs)
    })
  }
}

/** ModelRegistry in cluster mode: the shared etcd registry, plus every model found in --models DIR (idempotent). */
export const ClusterModelRegistryLive = Layer.effect(
  ModelRegistry,
  Effect.gen(function* () {
    const shared = yield* ClusterRegistry
    const { etcdTimeoutMs } = yield* ClusterConfig
    const registry = ModelRegistry.over(new SharedRegistryStore(shared, Math.min(etcdTimeoutMs, 2_000)))
    yield* registerModelsDir(registry)
    return registry
  })
)

/**
 * Keep this instance's ModelManager entries in step with the shared registry: a model that
 * appears (registered through any instance) gets an entry here, not loaded; a model deleted
 * anywhere is unregistered here (unloaded after its requests in flight). Returns the
 * unsubscribe function. Loading (pinned, minCopies) is the copy keeper's business, not this.
 */
export const followSharedRegistry = (shared: ClusterRegistry, registry: ModelRegistry, manager: ModelManager, log: Log): (() => void) => {
  const drop = (id: string) => {
    if (!manager.lookup(id)) return
    log.info("model left the shared registry", { model: id })
    manager.unregister(id).catch((e: unknown) => log.warn("unregistering a model failed", { model: id, error: messageOf(e) }))
  }
  const follow = (id: string) => {
    const r = registry.get(id)
    if (r === undefined) return drop(id)
    const e = manager.lookup(id)
    // Copy-map and refcount changes touch the shared record often; only the model's own fields matter here.
    if (e && e.record.path === r.path && identityOf(e.record) === identityOf(r)) return
    manager.register(r)
    if (!e) log.info("model joined the shared registry", { model: id })
  }
  // Catch up with changes between the manager's start and this subscription.
  for (const r of registry.all()) follow(r.id)
  for (const e of [...manager.all()]) if (registry.get(e.id) === undefined) drop(e.id)
  return shared.models.onChange((id) => follow(id))
}

/** followSharedRegistry for the server's lifetime (requires ClusterRegistry, ModelRegistry, ModelManager, Log). */
export const SharedRegistryFollowerLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const shared = yield* ClusterRegistry
    const registry = yield* ModelRegistry
    const manager = yield* ModelManager
    const log = yield* Log
    yield* Effect.acquireRelease(
      Effect.sync(() => followSharedRegistry(shared, registry, manager, log)),
      (off) => Effect.sync(off)
    )
  })
)
