import { ClusterSignal, ModelCache, type EvictionPolicy, type Resident } from "@meshkit/core"
import { CopyGone, LoadFailed, ModelNotFound, Overloaded } from "../errors.js"
import type { ServerMetrics } from "../observability/metrics.js"
import type { ModelRecord } from "../registry/registry.js"
import type { LoadedModel, ModelRuntime } from "../runtimes/runtime.js"
import { CapacitySignal, type InstanceCore, type ManagerOptions } from "./core.js"
import { FailureMemory } from "./failure-memory.js"
import { LoadPool } from "./load-pool.js"
import { estimateLoadMs, Loading } from "./loading.js"
import { ModelEntry, statusOf, type ModelStatusInfo, type Phase } from "./model-entry.js"
import { Unloading } from "./unloading.js"
import { ServiceTag } from "../service-tag.js"

export type { ManagerOptions } from "./core.js"

/**
 * This instance's models: lazy, single-flight loads on a bounded priority pool, a byte budget
 * enforced by the core ModelCache (the same code and policies the simulator runs), per-model
 * concurrency limits with bounded queues, failure memory, idle expiry and drain-then-unload.
 * The facade over ./model-entry.ts (entry and phase machine), ./loading.ts and ./unloading.ts.
 *
 * Plain TypeScript on purpose: `tryAcquire` / `release` run on every request and cost a few map
 * lookups; only misses go through promises. Invariants:
 *  - cache.used counts loading and loaded models plus bytes of models still unloading (`hold`),
 *    and never exceeds the budget except transiently when a measured size exceeds the
 *    prediction and nothing else can be evicted (the model is then unloaded again);
 *  - a load starts only after the victims making room for it have finished unloading;
 *  - a model with requests in flight is never unloaded: a user unload waits for them to finish.
 *
 * The class is its own service tag: `yield* ModelManager` in Effect code.
 */
export class ModelManager extends ServiceTag("meshkit/server/ModelManager")<ModelManager>() {
  private readonly core: InstanceCore
  private readonly loading: Loading
  private readonly unloading: Unloading
  private readonly metrics: ServerMetrics
  private readonly queueLimit: number
  private expireTimer: NodeJS.Timeout | undefined
  /** cluster mode: a request's model that went away is not reloaded by `acquire` (see leaveReloadsToCaller) */
  private callerReloads = false
  private reloadKept: ((e: ModelEntry) => void) | undefined = undefined

  constructor(options: ManagerOptions) {
    super()
    this.opts = options
    // Tenant shares apply to this instance's own budget (a remote runtime's memory is its own).
    const mainTraffic = this.trafficFor(options.capacityBytes)
    const policy = mainTraffic !== undefined ? options.policyFor!(options.capacityBytes, mainTraffic) : options.policy
    const cache = new ModelCache(options.capacityBytes, policy, options.shares !== undefined ? { shares: options.shares } : {})
    this.listen(cache, mainTraffic)
    // A runtime with memory of its own (a remote runtime's reported capacity) gets its own cache.
    const own = new Map<string, ModelCache>()
    const caches = [cache]
    for (const rt of options.runtimes.all) {
      if (rt.capacityBytes === undefined || options.policyFor === undefined) continue
      const traffic = this.trafficFor(rt.capacityBytes)
      const c = new ModelCache(rt.capacityBytes, options.policyFor(rt.capacityBytes, traffic))
      this.listen(c, traffic)
      caches.push(c)
      for (const f of rt.formats) own.set(f, c)
    }
    const core: InstanceCore = {
      options,
      entries: new Map(),
      cache,
      cacheOf: own.size === 0 ? () => cache : (e) => own.get(e.record.format) ?? cache,
      caches,
      pool: new LoadPool(options.maxConcurrentLoads, options.loadQueueLimit),
      failures: new FailureMemory(options.failureMemoryMs),
      capacity: new CapacitySignal(),
      closing: false
    }
    this.core = core
    this.unloading = new Unloading(core)
    this.loading = new Loading(core, this.unloading)
    this.metrics = options.metrics
    this.queueLimit = options.queueLimit
    options.metrics.attach({
      capacityBytes: () => core.cache.capacity,
      usedBytes: () => core.cache.used,
      loaded: () => this.count("loaded"),
      loading: () => this.count("loading"),
      managed: () => core.entries.size,
      withFailure: () => core.failures.activeCount(Date.now()),
      policy: () => core.cache.policy.name,
      running: () => core.cache.policy.running?.() ?? core.cache.policy.name
    })
    for (const rt of options.runtimes.all) rt.onHealthChange?.((h) => (h.ready ? this.runtimeBack(rt) : this.runtimeLost(rt, h.reason)))
    if (caches.some((c) => c.policy.expired)) {
      this.expireTimer = setInterval(() => this.unloading.expireIdle(), Math.max(10, options.expireIntervalMs))
      this.expireTimer.unref()
    }
  }

  get capacityBytes(): number {
    return this.core.cache.capacity
  }
  get usedBytes(): number {
    return this.core.cache.used
  }
  get policyName(): string {
    return this.core.cache.policy.name
  }

  /**
   * A configuration reload changed the eviction policy or its options: the residents stay
   * loaded and the new policy starts from their last-use order (ModelCache.replacePolicy);
   * keep-alive policies get the idle-unload timer, others lose it.
   */
  replaceEvictionPolicy(make: (capacityBytes: number, traffic?: ClusterSignal) => EvictionPolicy): void {
    const cache = this.core.cache
    // a fresh stream for the new policy: the old one's listeners go with it
    const traffic = this.trafficFor(cache.capacity)
    const policy = make(cache.capacity, traffic)
    cache.replacePolicy(policy)
    this.traffic.delete(cache)
    this.listen(cache, traffic)
    if (policy.expired && this.expireTimer === undefined) {
      this.expireTimer = setInterval(() => this.unloading.expireIdle(), Math.max(10, this.core.options.expireIntervalMs))
      this.expireTimer.unref()
    } else if (!policy.expired && this.expireTimer !== undefined) {
      clearInterval(this.expireTimer)
      this.expireTimer = undefined
    }
  }
  get size(): number {
    return this.core.entries.size
  }

  /**
   * Cluster mode: a load on this instance must first claim its copy in the shared registry, and
   * only the caller of `acquire` (the mesh) does that. So when the model leaves between a
   * request's load and its slot (evicted or unloaded), `acquire` throws CopyGone instead of
   * loading it again unclaimed, and the mesh decides again: a holder elsewhere, or a claim and a
   * load here. Without it (a single server) `acquire` reloads the model itself, as it always did.
   * Likewise a kept model (pinned, minCopies) whose runtime comes back is handed to `reloadKept`
   * (the node claims its copy first) instead of being reloaded here unclaimed.
   */
  leaveReloadsToCaller(reloadKept?: (e: ModelEntry) => void): void {
    this.callerReloads = true
    this.reloadKept = reloadKept
  }

  lookup(id: string): ModelEntry | undefined {
    return this.core.entries.get(id)
  }
  all(): IterableIterator<ModelEntry> {
    return this.core.entries.values()
  }

  register(record: ModelRecord): ModelEntry {
    const existing = this.core.entries.get(record.id)
    if (existing) {
      existing.record = record
      return existing
    }
    const e = new ModelEntry(record)
    this.core.entries.set(record.id, e)
    return e
  }

  /** Forget a model: unload it (after its in-flight requests) and drop it. */
  async unregister(id: string): Promise<void> {
    const e = this.core.entries.get(id)
    if (!e) return
    e.removed = true
    this.core.entries.delete(id)
    this.core.failures.clear(id)
    for (const w of e.slotWaiters.splice(0)) w(false)
    await this.unloading.unload(e)
  }

  // ---- request path ------------------------------------------------------------------------

  /** Whether requests are served from the model right now (both transports' readiness answer). */
  isReady(e: ModelEntry): boolean {
    return e.phase === "loaded"
  }

  /**
   * Hit path: a concurrency slot on a loaded model, or undefined when the model is not loaded,
   * is at its concurrency limit, or has requests queued (then call `acquire`). Pair with `release`.
   */
  tryAcquire(e: ModelEntry): LoadedModel | undefined {
    // every request passes here first, once: the arrival is what the policy's traffic signal hears
    if (this.traffic.size > 0) this.arrived(e)
    if (e.phase !== "loaded" || e.inFlight >= e.concurrency || e.slotWaiters.length > 0) return undefined
    e.inFlight++
    const r = e.resident!
    r.inFlight++
    if (e.missOnArrival) {
      this.countUse(e, true)
      return e.loaded
    }
    const now = Date.now()
    e.lastUsed = now
    this.core.cacheOf(e).hit(r, now)
    this.metrics.hits++
    return e.loaded
  }

  /** Slow path: load the model if needed and wait for a slot, within the queue bounds. */
  async acquire(e: ModelEntry): Promise<LoadedModel> {
    let missed = false
    let waitStart = 0
    /** the loading resident this request joined, which the cache was told of at once */
    let heardOn: Resident | undefined
    for (let pass = 0; ; pass++) {
      if (e.removed) throw new ModelNotFound({ message: `model "${e.id}" is not registered` })
      if (e.phase === "loaded") {
        if (waitStart > 0) {
          this.metrics.loadingWait.observe((performance.now() - waitStart) / 1000)
          waitStart = 0
        }
        if (e.inFlight < e.concurrency && e.slotWaiters.length === 0) {
          e.inFlight++
          e.resident!.inFlight++
          this.countUse(e, missed, heardOn)
          return e.loaded!
        }
        if (e.slotWaiters.length >= this.queueLimit) {
          throw new Overloaded({
            message: `model "${e.id}" is overloaded: ${e.inFlight} requests running and ${e.slotWaiters.length} queued (limits ${e.concurrency} and ${this.queueLimit})`
          })
        }
        const t0 = performance.now()
        const granted = await new Promise<boolean>((resolve) => e.slotWaiters.push(resolve))
        this.metrics.observeQueueDelay((performance.now() - t0) / 1000)
        if (granted && e.loaded) {
          this.countUse(e, missed, heardOn)
          return e.loaded
        }
        if (granted) this.release(e)
        continue
      }
      // The first pass loads what the caller arranged; a later pass that finds the model gone
      // (idle, or unloading: the next load would be a new one) leaves the reload to the caller.
      if (pass > 0 && this.callerReloads && (e.phase === "idle" || e.phase === "unloading")) {
        throw new CopyGone({ message: `model "${e.id}" was unloaded here before the request got a slot` })
      }
      if (!missed) {
        missed = true
        waitStart = performance.now()
      }
      // Joining a load the cache has already admitted: the cache hears of the request now, a hit
      // on a loading resident, as the simulator tells it (policies such as meshkit-adaptive read
      // requests that find their model loading as the sign of real loads), not once it is served.
      const r = e.resident
      if (heardOn === undefined && e.phase === "loading" && r !== undefined && r.loading) {
        heardOn = r
        this.core.cacheOf(e).hit(r, Date.now())
      }
      if (e.loadWaiters >= this.queueLimit) {
        throw new Overloaded({ message: `model "${e.id}" is loading and already has ${e.loadWaiters} requests waiting for it (limit ${this.queueLimit})` })
      }
      e.loadWaiters++
      try {
        await this.loading.ensureLoaded(e, true)
      } finally {
        e.loadWaiters--
      }
    }
  }

  /** A request on `e` finished: hand its slot to the next queued request, or free it. */
  release(e: ModelEntry): void {
    const next = e.slotWaiters.shift()
    if (next) {
      next(true)
      return
    }
    e.inFlight--
    if (e.resident) e.resident.inFlight--
    if (e.inFlight === 0) {
      const after = e.afterDrain
      if (after) {
        e.afterDrain = undefined
        after()
      }
      if (this.core.capacity.waiting) this.core.capacity.signal()
    }
  }

  /** ownTraffic: a signal per cache, for the policies that listen to one */
  private readonly traffic = new Map<ModelCache, ClusterSignal>()
  private readonly opts: ManagerOptions

  private trafficFor(capacityBytes: number): ClusterSignal | undefined {
    return this.opts.ownTraffic === true && this.opts.policyFor !== undefined && capacityBytes > 0 ? new ClusterSignal(1, capacityBytes) : undefined
  }

  private listen(cache: ModelCache, traffic: ClusterSignal | undefined): void {
    if (traffic?.listening) this.traffic.set(cache, traffic)
  }

  /** a request for `e` arrived: tell its cache's traffic signal (size and load time as admission would predict them) */
  private arrived(e: ModelEntry): void {
    const signal = this.traffic.get(this.core.cacheOf(e))
    if (signal === undefined) return
    // A model not yet sized (never loaded, no size in its record) is left out until it is: its
    // first request is a miss for every expert alike, and a size of 0 would fit anywhere.
    const size = e.resident?.size ?? (e.predictedBytes || e.record.sizeBytes || 0)
    if (!(size > 0)) return
    signal.request(e.id, e.record.tenant, size, e.resident?.loadCostMs ?? (e.lastLoadMs || estimateLoadMs(size)), Date.now())
  }

  /** `heardOn`: the resident the cache already heard this request on (see acquire) */
  private countUse(e: ModelEntry, missed: boolean, heardOn?: Resident): void {
    const now = Date.now()
    if (e.missOnArrival) {
      e.missOnArrival = false
      missed = true
    }
    e.lastUsed = now
    // (a request that joined the load was counted as a hit then)
    if (heardOn === undefined || heardOn !== e.resident) {
      if (e.useCountedAtAdmission) e.useCountedAtAdmission = false
      else if (e.resident) this.core.cacheOf(e).hit(e.resident, now)
    }
    if (missed) this.metrics.misses++
    else this.metrics.hits++
  }

  // ---- loading and unloading ---------------------------------------------------------------

  /**
   * Make sure the model is loaded (single-flight: concurrent callers share one load).
   * `urgent` = a request is waiting on it (jumps the load queue).
   */
  /** A request for the cold model `e` arrived (its body still to come): start its load now. */
  loadOnArrival(e: ModelEntry): void {
    if (e.phase !== "idle") return
    e.missOnArrival = true
    this.loading.ensureLoaded(e, true).catch(() => (e.missOnArrival = false))
  }

  ensureLoaded(e: ModelEntry, urgent: boolean): Promise<void> {
    return this.loading.ensureLoaded(e, urgent)
  }

  /** Unload a model on request (repository unload, unregister): waits for in-flight requests. */
  unload(e: ModelEntry): Promise<void> {
    return this.unloading.unload(e)
  }

  /** Stop loading, unload everything (callers drain requests first). */
  async close(timeoutMs: number): Promise<void> {
    this.core.closing = true
    if (this.expireTimer) clearInterval(this.expireTimer)
    this.core.capacity.signal()
    const all = [...this.core.entries.values()]
    const work = Promise.all(
      all.map(async (e) => {
        for (const w of e.slotWaiters.splice(0)) w(false)
        await this.unloading.unload(e)
      })
    )
    let timer: NodeJS.Timeout | undefined
    await Promise.race([work, new Promise((r) => (timer = setTimeout(r, timeoutMs)))])
    clearTimeout(timer)
  }

  // ---- runtimes that come and go (remote ones) -----------------------------------------------

  /**
   * `rt` died or restarted, and the models it held with it: they leave their cache (the bytes
   * are free on the runtime's side), queued requests are turned away, and each is remembered
   * as a failed load with the runtime's reason (LOADING_FAILED) until the runtime is back.
   */
  private runtimeLost(rt: ModelRuntime, reason: string): void {
    const now = Date.now()
    const error = new LoadFailed({ message: reason, retryAfterMs: 1000 })
    for (const e of this.core.entries.values()) {
      if (e.phase !== "loaded" || this.core.options.runtimes.runtimeFor(e.record.format) !== rt) continue
      this.core.cacheOf(e).remove(e.id)
      e.resident = undefined
      e.loaded = undefined
      e.phase = "idle"
      this.core.failures.record(e.id, error, now)
      for (const w of e.slotWaiters.splice(0)) w(false)
    }
    this.core.options.log.warn("runtime lost; its models are unloaded", { runtime: rt.name, reason })
    this.core.capacity.signal()
  }

  /** `rt` is READY again: forget its models' failures so their next request loads them; reload kept ones. */
  private runtimeBack(rt: ModelRuntime): void {
    for (const e of this.core.entries.values()) {
      if (this.core.options.runtimes.runtimeFor(e.record.format) !== rt) continue
      this.core.failures.clear(e.id)
      if (!(e.record.pinned || e.record.minCopies > 0)) continue
      if (this.callerReloads) this.reloadKept?.(e)
      else this.ensureLoaded(e, false).catch(() => undefined)
    }
  }

  // ---- status -------------------------------------------------------------------------------

  status(e: ModelEntry): ModelStatusInfo {
    return statusOf(e, this.core.failures, Date.now())
  }

  private count(phase: Phase): number {
    let n = 0
    for (const e of this.core.entries.values()) if (e.phase === phase) n++
    return n
  }
}

export { ModelEntry, type ModelIo, type ModelStatus, type ModelStatusInfo, type Phase } from "./model-entry.js"
