import { Context } from "effect"
import { formatBytes, ModelCache, type EvictionPolicy, type Resident } from "@meshkit/core"
import { LoadFailed, ModelNotFound, ModelTooLarge, Overloaded, Unavailable } from "../errors.js"
import type { Log } from "../log.js"
import type { ServerMetrics } from "../metrics.js"
import type { ModelRecord } from "../registry/registry.js"
import type { LoadedModel, ModelRuntime, TensorMeta } from "../runtime/runtime.js"
import { FailureMemory } from "./failure-memory.js"
import { LoadPool } from "./load-pool.js"

/**
 * The server's model cache: lazy, single-flight loads on a bounded priority pool, a byte budget
 * enforced by the core ModelCache (the same code and policies the simulator runs), per-model
 * concurrency limits with bounded queues, failure memory, idle expiry and drain-then-unload.
 *
 * Plain TypeScript on purpose: `tryAcquire` / `release` run on every request and cost a few map
 * lookups; only misses go through promises. Invariants:
 *  - cache.used counts loading and loaded models plus bytes of models still unloading (`hold`),
 *    and never exceeds the budget except transiently when a measured size exceeds the
 *    prediction and nothing else can be evicted (the model is then unloaded again);
 *  - a load starts only after the victims making room for it have finished unloading;
 *  - a model with requests in flight is never unloaded: a user unload waits for them to finish.
 */
export type ModelStatus = "NOT_LOADED" | "LOADING" | "LOADED" | "LOADING_FAILED"

export interface ModelStatusInfo {
  readonly id: string
  readonly status: ModelStatus
  readonly format: string
  readonly uri: string
  readonly source: ModelRecord["source"]
  readonly tenant: string
  readonly labels: Readonly<Record<string, string>>
  readonly pinned: boolean
  readonly minCopies: number
  /** measured size when loaded, else the prediction (0 before the first prediction) */
  readonly sizeBytes: number
  readonly predictedSizeBytes: number | null
  /** epoch ms of the last request, null if never used */
  readonly lastUsed: number | null
  readonly loadedAt: number | null
  readonly inFlight: number
  readonly queued: number
  readonly loads: number
  readonly lastLoadMs: number | null
  readonly errors: ReadonlyArray<string>
  /** epoch ms after which a failed load will be retried */
  readonly retryAt: number | null
}

export interface ModelIo {
  readonly inputs: ReadonlyArray<TensorMeta>
  readonly outputs: ReadonlyArray<TensorMeta>
}

type Phase = "idle" | "loading" | "loaded" | "unloading"

/** One managed model. Exposed (read-only by convention) so the data plane can keep a reference. */
export class ModelEntry {
  phase: Phase = "idle"
  loaded: LoadedModel | undefined = undefined
  resident: Resident | undefined = undefined
  loading: Promise<void> | undefined = undefined
  unloading: Promise<void> | undefined = undefined
  /** called when the last in-flight request finishes, for a drain-then-unload */
  afterDrain: (() => void) | undefined = undefined
  io: ModelIo | undefined = undefined
  inFlight = 0
  readonly slotWaiters: Array<(granted: boolean) => void> = []
  loadWaiters = 0
  lastUsed = 0
  loadedAt = 0
  predictedBytes = 0
  loads = 0
  lastLoadMs = 0
  /** the admission already counted the request that caused the load as a use */
  admitCredit = false
  removed = false
  constructor(public record: ModelRecord) {}
  get id(): string {
    return this.record.id
  }
}

export interface ManagerOptions {
  readonly capacityBytes: number
  readonly policy: EvictionPolicy
  readonly runtime: ModelRuntime
  readonly metrics: ServerMetrics
  readonly log: Log
  readonly maxConcurrentLoads: number
  readonly loadQueueLimit: number
  readonly loadTimeoutMs: number
  readonly modelConcurrency: number
  readonly queueLimit: number
  readonly failureMemoryMs: number
  readonly expireIntervalMs: number
  /** local file to load for a record (URL sources: the download cache, fetched again if missing) */
  readonly resolvePath?: (r: ModelRecord) => Promise<string>
}

const isRemembered = (e: unknown): boolean => e instanceof LoadFailed || e instanceof ModelTooLarge || (e as { _tag?: string })?._tag === "DownloadFailed"

export class ModelManager {
  private readonly entries = new Map<string, ModelEntry>()
  private readonly cache: ModelCache
  private readonly pool: LoadPool
  private readonly failures: FailureMemory
  private capacityWaiters: Array<() => void> = []
  private expireTimer: NodeJS.Timeout | undefined
  private closing = false

  constructor(private readonly o: ManagerOptions) {
    this.cache = new ModelCache(o.capacityBytes, o.policy)
    this.pool = new LoadPool(o.maxConcurrentLoads, o.loadQueueLimit)
    this.failures = new FailureMemory(o.failureMemoryMs)
    o.metrics.attach({
      capacityBytes: () => this.cache.capacity,
      usedBytes: () => this.cache.used,
      loaded: () => this.count("loaded"),
      loading: () => this.count("loading"),
      managed: () => this.entries.size,
      withFailure: () => this.failures.activeCount(Date.now())
    })
    if (o.policy.expired) {
      this.expireTimer = setInterval(() => this.expireIdle(), Math.max(10, o.expireIntervalMs))
      this.expireTimer.unref()
    }
  }

  get capacityBytes(): number {
    return this.cache.capacity
  }
  get usedBytes(): number {
    return this.cache.used
  }
  get policyName(): string {
    return this.o.policy.name
  }
  get size(): number {
    return this.entries.size
  }

  lookup(id: string): ModelEntry | undefined {
    return this.entries.get(id)
  }
  all(): IterableIterator<ModelEntry> {
    return this.entries.values()
  }

  register(record: ModelRecord): ModelEntry {
    const existing = this.entries.get(record.id)
    if (existing) {
      existing.record = record
      return existing
    }
    const e = new ModelEntry(record)
    this.entries.set(record.id, e)
    return e
  }

  /** Forget a model: unload it (after its in-flight requests) and drop it. */
  async unregister(id: string): Promise<void> {
    const e = this.entries.get(id)
    if (!e) return
    e.removed = true
    this.entries.delete(id)
    this.failures.clear(id)
    for (const w of e.slotWaiters.splice(0)) w(false)
    await this.unload(e)
  }

  // ---- request path ------------------------------------------------------------------------

  /**
   * Hit path: a concurrency slot on a loaded model, or undefined when the model is not loaded,
   * is at its concurrency limit, or has requests queued (then call `acquire`). Pair with `release`.
   */
  tryAcquire(e: ModelEntry): LoadedModel | undefined {
    if (e.phase !== "loaded" || e.inFlight >= this.o.modelConcurrency || e.slotWaiters.length > 0) return undefined
    e.inFlight++
    const r = e.resident!
    r.inFlight++
    const now = Date.now()
    e.lastUsed = now
    this.cache.hit(r, now)
    this.o.metrics.hits++
    return e.loaded
  }

  /** Slow path: load the model if needed and wait for a slot, within the queue bounds. */
  async acquire(e: ModelEntry): Promise<LoadedModel> {
    let missed = false
    let waitStart = 0
    for (;;) {
      if (e.removed) throw new ModelNotFound({ message: `model "${e.id}" is not registered` })
      if (e.phase === "loaded") {
        if (waitStart > 0) {
          this.o.metrics.loadingWait.observe((performance.now() - waitStart) / 1000)
          waitStart = 0
        }
        if (e.inFlight < this.o.modelConcurrency && e.slotWaiters.length === 0) {
          e.inFlight++
          e.resident!.inFlight++
          this.countUse(e, missed)
          return e.loaded!
        }
        if (e.slotWaiters.length >= this.o.queueLimit) {
          throw new Overloaded({
            message: `model "${e.id}" is overloaded: ${e.inFlight} requests running and ${e.slotWaiters.length} queued (limits ${this.o.modelConcurrency} and ${this.o.queueLimit})`
          })
        }
        const t0 = performance.now()
        const granted = await new Promise<boolean>((resolve) => e.slotWaiters.push(resolve))
        this.o.metrics.observeQueueDelay((performance.now() - t0) / 1000)
        if (granted && e.loaded) {
          this.countUse(e, missed)
          return e.loaded
        }
        if (granted) this.release(e)
        continue
      }
      if (!missed) {
        missed = true
        waitStart = performance.now()
      }
      if (e.loadWaiters >= this.o.queueLimit) {
        throw new Overloaded({ message: `model "${e.id}" is loading and already has ${e.loadWaiters} requests waiting for it (limit ${this.o.queueLimit})` })
      }
      e.loadWaiters++
      try {
        await this.ensureLoaded(e, true)
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
      if (this.capacityWaiters.length > 0) this.signalCapacity()
    }
  }

  private countUse(e: ModelEntry, missed: boolean): void {
    const now = Date.now()
    e.lastUsed = now
    if (e.admitCredit) e.admitCredit = false
    else if (e.resident) this.cache.hit(e.resident, now)
    if (missed) this.o.metrics.misses++
    else this.o.metrics.hits++
  }

  // ---- loading ------------------------------------------------------------------------------

  /**
   * Make sure the model is loaded (single-flight: concurrent callers share one load).
   * `urgent` = a request is waiting on it (jumps the load queue).
   */
  ensureLoaded(e: ModelEntry, urgent: boolean): Promise<void> {
    switch (e.phase) {
      case "loaded":
        return Promise.resolve()
      case "unloading":
        return e.unloading!.then(() => this.ensureLoaded(e, urgent))
      case "loading":
        if (urgent) this.pool.promote(e.id)
        return e.loading!
      case "idle": {
        if (e.removed) return Promise.reject(new ModelNotFound({ message: `model "${e.id}" is not registered` }))
        if (this.closing) return Promise.reject(new Unavailable({ message: "server is shutting down" }))
        const now = Date.now()
        const f = this.failures.active(e.id, now)
        if (f) return Promise.reject(rememberedError(f.error, f.until - now))
        e.phase = "loading"
        const p = this.load(e, urgent)
        e.loading = p
        p.then(
          () => (e.loading = undefined),
          () => (e.loading = undefined)
        )
        return p
      }
    }
  }

  private async load(e: ModelEntry, urgent: boolean): Promise<void> {
    try {
      await this.pool.run(e.id, urgent, async (queuedMs) => {
        this.o.metrics.loadQueueDelay.observe(queuedMs / 1000)
        if (e.removed) throw new ModelNotFound({ message: `model "${e.id}" is not registered` })
        if (this.closing) throw new Unavailable({ message: "server is shutting down" })
        await this.loadNow(e)
      })
    } catch (err) {
      if (e.phase === "loading") e.phase = "idle"
      const error = asError(err)
      if (isRemembered(error)) {
        const f = this.failures.record(e.id, error, Date.now())
        this.o.log.warn("model load failed", { model: e.id, error: error.message, failures: f.count, retryInMs: f.until - f.at })
      }
      throw error
    }
  }

  private async loadNow(e: ModelEntry): Promise<void> {
    const path = this.o.resolvePath ? await this.o.resolvePath(e.record) : e.record.path
    let predicted: number
    try {
      predicted = await this.o.runtime.predictSize(path)
    } catch (err) {
      throw new LoadFailed({ message: `model "${e.id}": cannot read ${path}: ${asError(err).message}` })
    }
    e.predictedBytes = predicted
    const resident = await this.admit(e, predicted)
    e.resident = resident
    const t0 = performance.now()
    let loaded: LoadedModel
    try {
      loaded = await this.loadWithTimeout(e, path, resident)
    } catch (err) {
      this.o.metrics.loadDuration.labels("failure").observe((performance.now() - t0) / 1000)
      this.o.metrics.loadFailures.inc()
      if (e.resident === resident) {
        this.cache.remove(e.id)
        e.resident = undefined
        this.signalCapacity()
      }
      const error = asError(err)
      throw error instanceof LoadFailed ? error : new LoadFailed({ message: `model "${e.id}" failed to load: ${error.message}` })
    }
    const loadMs = performance.now() - t0
    if (e.removed || this.closing) {
      await this.discard(e, resident, loaded)
      throw e.removed ? new ModelNotFound({ message: `model "${e.id}" was unregistered while loading` }) : new Unavailable({ message: "server is shutting down" })
    }
    // The measured size replaces the prediction; growing may evict others, or not fit at all.
    const victims = this.cache.resize(resident, loaded.sizeBytes, Date.now())
    if (victims === null) {
      await this.discard(e, resident, loaded)
      this.o.metrics.loadFailures.inc()
      if (loaded.sizeBytes > this.cache.capacity) {
        throw new ModelTooLarge({
          message: `model "${e.id}" takes ${formatBytes(loaded.sizeBytes)} once loaded, more than the memory budget ${formatBytes(this.cache.capacity)}`
        })
      }
      throw new Unavailable({
        message: `model "${e.id}" takes ${formatBytes(loaded.sizeBytes)} once loaded (predicted ${formatBytes(predicted)}) and no other model can be unloaded now`,
        retryAfterMs: 1000
      })
    }
    for (const v of victims) void this.evict(v, "capacity")
    resident.loading = false
    resident.loadCostMs = loadMs
    e.loaded = loaded
    e.io = { inputs: loaded.inputs, outputs: loaded.outputs }
    e.loadedAt = Date.now()
    e.loads++
    e.lastLoadMs = loadMs
    e.admitCredit = true
    e.phase = "loaded"
    this.failures.clear(e.id)
    this.o.metrics.loadDuration.labels("success").observe(loadMs / 1000)
    this.o.metrics.loadedModelSize.observe(loaded.sizeBytes)
    this.o.log.info("model loaded", { model: e.id, ms: round(loadMs), bytes: loaded.sizeBytes, predictedBytes: predicted, usedBytes: this.cache.used })
  }

  /** Reserve room (evicting by policy); waits for busy models to free up, up to the load timeout. */
  private async admit(e: ModelEntry, size: number): Promise<Resident> {
    const deadline = performance.now() + this.o.loadTimeoutMs
    for (;;) {
      const now = Date.now()
      const r = this.cache.admit(
        { id: e.id, tenant: e.record.tenant, size, loadCostMs: e.lastLoadMs || estimateLoadMs(size), pinned: e.record.pinned || e.record.minCopies > 0 },
        now
      )
      if (r.ok) {
        // The new model loads only once its victims are gone: real memory stays within budget.
        if (r.evicted.length > 0) await Promise.all(r.evicted.map((v) => this.evict(v, "capacity")))
        return r.entry
      }
      if (r.reason === "too-large") {
        throw new ModelTooLarge({
          message: `model "${e.id}" needs about ${formatBytes(size)} (predicted), more than the whole memory budget ${formatBytes(this.cache.capacity)}`
        })
      }
      const left = deadline - performance.now()
      if (left <= 0 || this.closing || e.removed) {
        throw new Unavailable({
          message: `no room to load model "${e.id}": ${formatBytes(r.needBytes)} more needed, and every resident model is loading, serving or pinned`,
          retryAfterMs: 1000
        })
      }
      await this.capacityChanged(left)
    }
  }

  private loadWithTimeout(e: ModelEntry, path: string, resident: Resident): Promise<LoadedModel> {
    const p = this.o.runtime.load(path, e.id)
    const ms = this.o.loadTimeoutMs
    return new Promise((resolve, reject) => {
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        // The runtime may still finish: keep its bytes reserved until it does, then unload it.
        const bytes = resident.size
        if (e.resident === resident) {
          this.cache.remove(e.id)
          e.resident = undefined
        }
        this.cache.hold(bytes)
        p.then(
          (m) => m.unload(),
          () => {}
        )
          .catch(() => {})
          .finally(() => {
            this.cache.release(bytes)
            this.signalCapacity()
          })
        reject(new LoadFailed({ message: `loading model "${e.id}" timed out after ${ms} ms` }))
      }, ms)
      p.then(
        (m) => {
          if (timedOut) return
          clearTimeout(timer)
          resolve(m)
        },
        (err) => {
          if (timedOut) return
          clearTimeout(timer)
          reject(err)
        }
      )
    })
  }

  /** Undo a load that cannot be kept. */
  private async discard(e: ModelEntry, resident: Resident, loaded: LoadedModel): Promise<void> {
    if (e.resident === resident) {
      this.cache.remove(e.id)
      e.resident = undefined
    }
    this.cache.hold(resident.size)
    try {
      await loaded.unload()
    } catch (err) {
      this.o.log.error("unload failed", { model: e.id, error: asError(err).message })
    } finally {
      this.cache.release(resident.size)
      this.signalCapacity()
    }
  }

  // ---- unloading ----------------------------------------------------------------------------

  /** A victim chosen by the cache (already removed from it, so not serving and not loading). */
  private evict(v: Resident, reason: "capacity" | "expired"): Promise<void> {
    const e = this.entries.get(v.id)
    const now = Date.now()
    this.o.metrics.evictions.labels(reason).inc()
    this.o.metrics.ageAtEviction.observe(Math.max(0, now - v.lastUsed) / 1000)
    this.o.log.info(reason === "capacity" ? "model evicted" : "model expired", { model: v.id, bytes: v.size, idleMs: now - v.lastUsed })
    if (!e || e.resident !== v) {
      // Unregistered meanwhile: its unload is already under way.
      return Promise.resolve()
    }
    return this.beginUnload(e, v.size)
  }

  /** Unload a model on request (repository unload, unregister): waits for in-flight requests. */
  async unload(e: ModelEntry): Promise<void> {
    if (e.phase === "loading") {
      try {
        await e.loading
      } catch {
        return
      }
    }
    if (e.phase === "unloading") return e.unloading
    if (e.phase !== "loaded") return
    const r = e.resident!
    this.cache.remove(e.id)
    return this.beginUnload(e, r.size)
  }

  /** `e` has left the cache: hold its bytes until the runtime has really let go of it. */
  private beginUnload(e: ModelEntry, bytes: number): Promise<void> {
    this.cache.hold(bytes)
    e.phase = "unloading"
    e.resident = undefined
    const p = new Promise<void>((resolve) => {
      const go = () => {
        const loaded = e.loaded
        e.loaded = undefined
        const t0 = performance.now()
        ;(loaded ? loaded.unload() : Promise.resolve())
          .catch((err) => this.o.log.error("unload failed", { model: e.id, error: asError(err).message }))
          .finally(() => {
            this.o.metrics.unloadDuration.observe((performance.now() - t0) / 1000)
            this.cache.release(bytes)
            e.phase = "idle"
            e.unloading = undefined
            this.o.log.debug("model unloaded", { model: e.id, bytes })
            this.signalCapacity()
            resolve()
          })
      }
      if (e.inFlight === 0) go()
      else e.afterDrain = go
    })
    e.unloading = p
    return p
  }

  private expireIdle(): void {
    if (this.closing) return
    for (const v of this.cache.expire(Date.now())) void this.evict(v, "expired")
  }

  /** Stop loading, unload everything (callers drain requests first). */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true
    if (this.expireTimer) clearInterval(this.expireTimer)
    this.signalCapacity()
    const all = [...this.entries.values()]
    const work = Promise.all(
      all.map(async (e) => {
        for (const w of e.slotWaiters.splice(0)) w(false)
        await this.unload(e)
      })
    )
    let timer: NodeJS.Timeout | undefined
    await Promise.race([work, new Promise((r) => (timer = setTimeout(r, timeoutMs)))])
    clearTimeout(timer)
  }

  // ---- capacity signal ----------------------------------------------------------------------

  private signalCapacity(): void {
    if (this.capacityWaiters.length === 0) return
    const ws = this.capacityWaiters
    this.capacityWaiters = []
    for (const w of ws) w()
  }

  private capacityChanged(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs)
      this.capacityWaiters.push(() => {
        clearTimeout(t)
        resolve()
      })
    })
  }

  // ---- status -------------------------------------------------------------------------------

  status(e: ModelEntry): ModelStatusInfo {
    const now = Date.now()
    const active = this.failures.active(e.id, now)
    const last = this.failures.last(e.id)
    const status: ModelStatus =
      e.phase === "loaded" ? "LOADED" : e.phase === "loading" ? "LOADING" : active ? "LOADING_FAILED" : "NOT_LOADED"
    const r = e.record
    return {
      id: e.id,
      status,
      format: r.format,
      uri: r.uri,
      source: r.source,
      tenant: r.tenant,
      labels: r.labels,
      pinned: r.pinned,
      minCopies: r.minCopies,
      sizeBytes: e.resident?.size ?? (e.phase === "loaded" && e.loaded ? e.loaded.sizeBytes : e.predictedBytes),
      predictedSizeBytes: e.predictedBytes || null,
      lastUsed: e.lastUsed || null,
      loadedAt: e.phase === "loaded" ? e.loadedAt : null,
      inFlight: e.inFlight,
      queued: e.slotWaiters.length + e.loadWaiters,
      loads: e.loads,
      lastLoadMs: e.lastLoadMs ? round(e.lastLoadMs) : null,
      errors: last ? [last.error.message] : [],
      retryAt: active ? active.until : null
    }
  }

  /** The error a request gets right now for a model whose last load failed, if remembered. */
  rememberedFailure(e: ModelEntry): Error | undefined {
    const now = Date.now()
    const f = this.failures.active(e.id, now)
    return f ? rememberedError(f.error, f.until - now) : undefined
  }

  private count(phase: Phase): number {
    let n = 0
    for (const e of this.entries.values()) if (e.phase === phase) n++
    return n
  }
}

/** The remembered error, re-issued with the time left before the retry. */
const rememberedError = (err: Error, retryAfterMs: number): Error => {
  if (err instanceof LoadFailed) return new LoadFailed({ message: `${err.message} (remembered; retried in ${Math.ceil(retryAfterMs / 1000)} s)`, retryAfterMs })
  return err
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)))
const round = (ms: number) => Math.round(ms * 10) / 10
/** Before a model's first load: about 100 MB/s, the rate ORT loads dense weights on this class of machine. */
const estimateLoadMs = (bytes: number) => 5 + bytes / 100_000

export class Manager extends Context.Tag("meshkit/server/ModelManager")<Manager, ModelManager>() {}
