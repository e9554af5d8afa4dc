import { formatBytes, type Resident } from "@meshkit/core"
import { DownloadFailed, LoadFailed, messageOf, ModelNotFound, ModelTooLarge, Unavailable } from "../errors.js"
import { batchedModel, canBatch } from "../runtimes/batched-model.js"
import type { LoadedModel, LoadTarget, ModelRuntime } from "../runtimes/runtime.js"
import type { InstanceCore } from "./core.js"
import type { ModelEntry } from "./model-entry.js"
import type { Unloading } from "./unloading.js"
import { runWarmup } from "./warmup.js"

/**
 * Loading a model: single-flight on the load pool, failures remembered, room reserved in the
 * cache before the runtime starts (evicting by policy, waiting for busy models up to the load
 * timeout), the prediction corrected by the measured size, a timeout that keeps the bytes of a
 * load still running reserved until the runtime lets go.
 */
export class Loading {
  constructor(
    private readonly core: InstanceCore,
    private readonly unloading: Unloading
  ) {}

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
        if (urgent) this.core.pool.promote(e.id)
        return e.loading!
      case "idle": {
        if (e.removed) return Promise.reject(new ModelNotFound({ message: `model "${e.id}" is not registered` }))
        if (this.core.closing) return Promise.reject(new Unavailable({ message: "server is shutting down" }))
        const now = Date.now()
        const f = this.core.failures.active(e.id, now)
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
      await this.core.pool.run(e.id, urgent, async (queuedMs) => {
        this.core.options.metrics.loadQueueDelay.observe(queuedMs / 1000)
        if (e.removed) throw new ModelNotFound({ message: `model "${e.id}" is not registered` })
        if (this.core.closing) throw new Unavailable({ message: "server is shutting down" })
        await this.loadNow(e)
      }, this.core.options.priorityOf?.(e.record.tenant) ?? 0)
    } catch (err) {
      if (e.phase === "loading") e.phase = "idle"
      const error = asError(err)
      if (isRemembered(error)) {
        const f = this.core.failures.record(e.id, error, Date.now())
        this.core.options.log.warn("model load failed", { model: e.id, error: error.message, failures: f.count, retryInMs: f.until - f.at })
      }
      throw error
    }
  }

  private async loadNow(e: ModelEntry): Promise<void> {
    const path = this.core.options.resolvePath ? await this.core.options.resolvePath(e.record) : e.record.path
    let predicted: number
    try {
      predicted = await this.runtimeOf(e).predictSize(path, targetOf(e))
    } catch (err) {
      throw new LoadFailed({ message: `model "${e.id}": cannot read ${path}: ${messageOf(err)}` })
    }
    e.predictedBytes = predicted
    const resident = await this.admit(e, predicted)
    e.resident = resident
    const t0 = performance.now()
    let loaded: LoadedModel
    try {
      loaded = await this.loadWithTimeout(e, path, resident)
    } catch (err) {
      this.core.options.metrics.loadDuration.labels("failure").observe((performance.now() - t0) / 1000)
      this.core.options.metrics.loadFailures.inc()
      if (e.resident === resident) {
        this.core.cacheOf(e).remove(e.id)
        e.resident = undefined
        this.core.capacity.signal()
      }
      const error = asError(err)
      throw error instanceof LoadFailed ? error : new LoadFailed({ message: `model "${e.id}" failed to load: ${error.message}` })
    }
    // Warm-up (Triton's model_warmup): sample requests before READY; failing them fails the load.
    if (e.record.warmup !== undefined) {
      const w0 = performance.now()
      try {
        const runs = await runWarmup(e.record.warmup, loaded)
        this.core.options.log.info("model warmed up", { model: e.id, runs, ms: round(performance.now() - w0) })
      } catch (err) {
        await this.discard(e, resident, loaded)
        this.core.options.metrics.loadFailures.inc()
        throw new LoadFailed({ message: `model "${e.id}" failed its warm-up: ${messageOf(err)}` })
      }
    }
    const loadMs = performance.now() - t0
    if (e.removed || this.core.closing) {
      await this.discard(e, resident, loaded)
      throw e.removed ? new ModelNotFound({ message: `model "${e.id}" was unregistered while loading` }) : new Unavailable({ message: "server is shutting down" })
    }
    // The measured size replaces the prediction; growing may evict others, or not fit at all.
    const victims = await this.resizeWhenRoom(e, resident, loaded.sizeBytes, t0)
    if (victims === null) {
      await this.discard(e, resident, loaded)
      this.core.options.metrics.loadFailures.inc()
      if (loaded.sizeBytes > this.core.cacheOf(e).capacity) {
        throw new ModelTooLarge({
          message: `model "${e.id}" takes ${formatBytes(loaded.sizeBytes)} once loaded, more than ${this.budgetOf(e)} ${formatBytes(this.core.cacheOf(e).capacity)}`
        })
      }
      throw new Unavailable({
        message: `model "${e.id}" takes ${formatBytes(loaded.sizeBytes)} once loaded (predicted ${formatBytes(predicted)}) and no other model can be unloaded now`,
        retryAfterMs: 1000
      })
    }
    for (const v of victims) void this.unloading.evict(v, "capacity")
    resident.loading = false
    resident.loadCostMs = loadMs
    e.loaded = this.batched(e, loaded)
    e.concurrency = Math.min(this.core.options.modelConcurrency, loaded.maxConcurrency ?? Number.MAX_SAFE_INTEGER)
    e.io = { inputs: loaded.inputs, outputs: loaded.outputs }
    e.loadedAt = Date.now()
    e.loads++
    e.lastLoadMs = loadMs
    e.useCountedAtAdmission = true
    e.phase = "loaded"
    this.core.failures.clear(e.id)
    this.core.options.metrics.loadDuration.labels("success").observe(loadMs / 1000)
    this.core.options.metrics.loadedModelSize.observe(loaded.sizeBytes)
    this.core.options.log.info("model loaded", { model: e.id, ms: round(loadMs), bytes: loaded.sizeBytes, predictedBytes: predicted, usedBytes: this.core.cacheOf(e).used })
  }

  /**
   * Grow the reservation to the measured size. When the others that would have to go are all
   * serving or loading, wait for one to free up (up to the load timeout, counted from the load's
   * start) rather than throw a finished load away; null when it never fits.
   */
  private async resizeWhenRoom(e: ModelEntry, resident: Resident, bytes: number, t0: number): Promise<readonly Resident[] | null> {
    const cache = this.core.cacheOf(e)
    for (;;) {
      const victims = cache.resize(resident, bytes, Date.now())
      if (victims !== null || bytes > cache.capacity) return victims
      const left = t0 + this.core.options.loadTimeoutMs - performance.now()
      if (left <= 0 || this.core.closing || e.removed) return null
      await this.core.capacity.changed(left)
    }
  }

  /** Reserve room (evicting by policy); waits for busy models to free up, up to the load timeout. */
  private async admit(e: ModelEntry, size: number): Promise<Resident> {
    const deadline = performance.now() + this.core.options.loadTimeoutMs
    for (;;) {
      const now = Date.now()
      const r = this.core.cacheOf(e).admit(
        { id: e.id, tenant: e.record.tenant, size, loadCostMs: e.lastLoadMs || estimateLoadMs(size), pinned: e.record.pinned || e.record.minCopies > 0 },
        now
      )
      if (r.ok) {
        // The new model loads only once its victims are gone: real memory stays within budget.
        if (r.evicted.length > 0) await Promise.all(r.evicted.map((v) => this.unloading.evict(v, "capacity")))
        return r.entry
      }
      if (r.reason === "too-large") {
        throw new ModelTooLarge({
          message: `model "${e.id}" needs about ${formatBytes(size)} (predicted), more than ${this.budgetOf(e, "whole ")} ${formatBytes(this.core.cacheOf(e).capacity)}`
        })
      }
      const left = deadline - performance.now()
      if (left <= 0 || this.core.closing || e.removed) {
        throw new Unavailable({
          message: `no room to load model "${e.id}": ${formatBytes(r.needBytes)} more needed, and every resident model is loading, serving or pinned`,
          retryAfterMs: 1000
        })
      }
      await this.core.capacity.changed(left)
    }
  }

  private loadWithTimeout(e: ModelEntry, path: string, resident: Resident): Promise<LoadedModel> {
    const p = this.runtimeOf(e).load(path, e.id, targetOf(e))
    const ms = this.core.options.loadTimeoutMs
    return new Promise((resolve, reject) => {
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        // The runtime may still finish: keep its bytes reserved until it does, then unload it.
        const bytes = resident.size
        if (e.resident === resident) {
          this.core.cacheOf(e).remove(e.id)
          e.resident = undefined
        }
        this.core.cacheOf(e).hold(bytes)
        p.then(
          (m) => m.unload(),
          () => {}
        )
          .catch(() => {})
          .finally(() => {
            this.core.cacheOf(e).release(bytes)
            this.core.capacity.signal()
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
      this.core.cacheOf(e).remove(e.id)
      e.resident = undefined
    }
    this.core.cacheOf(e).hold(resident.size)
    try {
      await loaded.unload()
    } catch (err) {
      this.core.options.log.error("unload failed", { model: e.id, error: messageOf(err) })
    } finally {
      this.core.cacheOf(e).release(resident.size)
      this.core.capacity.signal()
    }
  }

  /** What a too-large model is compared with: the server's memory budget or its runtime's own capacity. */
  private budgetOf(e: ModelEntry, whole = ""): string {
    const rt = this.core.options.runtimes.runtimeFor(e.record.format)
    return rt?.capacityBytes !== undefined && this.core.cacheOf(e) !== this.core.cache ? `the ${whole}capacity of the ${rt.name} runtime` : `the ${whole}memory budget`
  }

  /** The model as requests call it: merged into batches when batching is on for it and its shapes allow. */
  private batched(e: ModelEntry, loaded: LoadedModel): LoadedModel {
    const policy = this.core.options.batchingFor?.(e.record)
    if (policy === undefined) return loaded
    if (!canBatch(loaded)) {
      this.core.options.log.warn("model not batched: an input or output has a fixed first dimension", { model: e.id })
      return loaded
    }
    return batchedModel(loaded, policy)
  }

  private runtimeOf(e: ModelEntry): ModelRuntime {
    const rt = this.core.options.runtimes.runtimeFor(e.record.format)
    if (rt === undefined) {
      throw new LoadFailed({ message: `model "${e.id}": no runtime loads format "${e.record.format}" (this server loads: ${this.core.options.runtimes.formats.join(", ")})` })
    }
    return rt
  }
}

/** ModelMesh's modelKey is opaque to meshkit: a record carries it as its `modelKey` label. */
const targetOf = (e: ModelEntry): LoadTarget => ({ id: e.id, format: e.record.format, key: e.record.labels.modelKey ?? "" })

/** Load failures worth remembering: retrying at once would fail the same way. */
const isRemembered = (e: unknown): e is Error => e instanceof LoadFailed || e instanceof ModelTooLarge || e instanceof DownloadFailed

/** The remembered error, re-issued with the time left before the retry. */
export const rememberedError = (err: Error, retryAfterMs: number): Error => {
  if (err instanceof LoadFailed) return new LoadFailed({ message: `${err.message} (remembered; retried in ${Math.ceil(retryAfterMs / 1000)} s)`, retryAfterMs })
  return err
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)))
const round = (ms: number) => Math.round(ms * 10) / 10
/** Before a model's first load: about 100 MB/s, the rate ORT loads dense weights on this class of machine. */
export const estimateLoadMs = (bytes: number) => 5 + bytes / 100_000
