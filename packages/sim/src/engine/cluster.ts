/**
 * Full mode: a cluster of instances in virtual time. One plain synchronous loop merges the
 * streamed trace with a heap of timed events (execution done, load done, scaling tick,
 * keep-alive check); nothing allocates per request on the hit path.
 *
 * Request path: a model with a loaded copy → core's `route` picks a copy (hit); only loading
 * copies → the request joins that load (single-flight; a background load it waits for is
 * promoted ahead of others); no copy → miss: core's `Placer` picks an instance whose cache admits
 * (evicting by the policy), the load queues for a slot. A model never leaves the cache while
 * loading or while requests wait, queue or run on it: every such request is counted in the
 * entry's inFlight.
 *
 * When every instance refuses the admission because everything evictable is busy (no-room),
 * the model is "blocked": its requests wait (the later ones join its pending load, as hits),
 * and placement is retried, in FIFO order, each time a copy on some instance becomes idle. (A
 * model larger than every instance fails its requests at once.)
 * Loads on an instance start only after the unloads it has begun finish, so real memory never
 * exceeds capacity; unloads themselves do not use a load slot.
 */
import {
  buildPolicy,
  clusterFreeFraction,
  copiesToRemove,
  ModelActivity,
  modelLoadStatsState,
  Placer,
  policyRng,
  RateWindows,
  route,
  targetCopies,
  type InstanceViewState,
  type RoutingPolicy,
  type ScalingPolicy
} from "@meshkit/core"
import { emptyTotals, toResult, type Totals } from "../metrics/counters.js"
import { LatencyRecorder } from "../metrics/latency.js"
import type { RunOutput } from "../metrics/result.js"
import { TenantStats } from "../metrics/tenants.js"
import { sharesFor } from "./shares.js"
import { retryPerTenant } from "./blocked.js"
import { Timeline } from "../metrics/timeline.js"
import type { Trace } from "../trace/types.js"
import { CacheAdmission } from "./admission.js"
import { isScalingOff, loadTimeMs, policyLabel, type SimConfig } from "./config.js"
import type { Copy } from "./copy.js"
import { EventQueue } from "./event-queue.js"
import { execSampler } from "./exec-time.js"
import { buildInstances, type Instance } from "./instance.js"
import { ModelIndex } from "./model-index.js"
import { ModelState } from "./model-state.js"
import { RequestPool } from "./request-pool.js"
import type { RunOptions } from "./run-options.js"
import { Batches } from "./batches.js"
import { BATCH_TICK, EXEC_DONE, EXPIRE, LOAD_DONE, SCALE_TICK, Work } from "./work.js"

export class ClusterEngine {
  private readonly cfg: SimConfig
  private readonly trace: Trace
  /** the trace's model ids by index (the array grows while streaming; it is never replaced) */
  private readonly modelIds: readonly string[]
  private readonly nextUse: Float64Array | undefined
  private readonly instances: Instance[]
  /** the instances' placement views, by instance index (refreshed in place before each placement) */
  private readonly views: InstanceViewState[]
  private readonly placer: Placer<InstanceViewState>
  private readonly admission: CacheAdmission
  private readonly routing: RoutingPolicy
  private readonly scaling: ScalingPolicy | undefined
  private readonly offline: boolean
  /** tenant shares are on: a blocked model of one tenant must not hold back the others' */
  private readonly shared: boolean
  private readonly shares: ReadonlyMap<string, number> | undefined
  private readonly keepAlive: boolean
  private readonly events = new EventQueue(4096)
  private readonly work: Work
  /** dynamic batching, when the cluster configures it */
  private readonly batches: Batches | undefined
  private readonly sampleExec: () => number
  private readonly maxInstanceBytes: number
  private readonly sloMs: number
  /** ClusterConfig.requestOverheadMs: latency outside the instances, added to every request's */
  private readonly requestOverheadMs: number
  private readonly onProgress: ((n: number) => void) | undefined

  private readonly tenants = new TenantStats()
  private readonly models: ModelIndex
  private readonly latency = new LatencyRecorder()
  private readonly timeline = new Timeline()
  private readonly tot: Totals = emptyTotals()
  private memoryUsed = 0
  private now = 0
  private traceDone = false
  private requestIndex = 0

  private readonly requests = new RequestPool()
  private readonly modelState: ModelState
  /** per model: what scaling reads (rate, last use, start of the current use window) */
  private readonly activity = new ModelActivity()
  private readonly instanceRate: RateWindows
  private readonly stats = modelLoadStatsState()

  constructor(trace: Trace, cfg: SimConfig, opts: RunOptions = {}) {
    this.cfg = cfg
    this.trace = trace
    this.modelIds = trace.models.ids
    this.nextUse = opts.nextUse
    const c = cfg.cluster
    const seed = cfg.seed
    this.placer = new Placer(buildPolicy("placement", cfg.placement, { rng: policyRng(seed, "placement") }))
    this.routing = buildPolicy("routing", cfg.routing, { rng: policyRng(seed, "routing") })
    this.scaling = isScalingOff(cfg.scaling) ? undefined : buildPolicy("scaling", cfg.scaling, { rng: policyRng(seed, "scaling") })
    this.instances = buildInstances(cfg)
    this.views = this.instances.map((inst) => inst.view)
    this.shares = sharesFor(cfg.shares, c.memoryBytes)
    this.shared = this.shares !== undefined
    this.admission = new CacheAdmission(this.instances, !this.shared)
    const p0 = this.instances[0]!.policy
    this.offline = p0.offline === true
    if (this.offline && this.nextUse === undefined) throw new Error(`internal: offline policy ${p0.name} needs next-use times`)
    this.keepAlive = typeof p0.expired === "function"
    this.sampleExec = execSampler(c.exec, policyRng(seed, "exec"))
    this.maxInstanceBytes = c.memoryBytes
    this.requestOverheadMs = c.requestOverheadMs ?? 0
    this.sloMs = cfg.sloMs
    this.models = new ModelIndex(trace.models, this.tenants, (size) => loadTimeMs(c, size))
    this.instanceRate = new RateWindows(c.instances)
    this.onProgress = opts.onProgress
    this.modelState = new ModelState(c.modelConcurrency)
    this.work = new Work(this.events, this.requests, this.modelState.byId, (m) => this.models.loadCostMs[m]!, c.loadSigma ?? 0, policyRng(seed, "load"))
    this.batches = c.batching === undefined ? undefined : new Batches(c.batching, this.events, this.requests, this.work)
  }

  async run(): Promise<RunOutput> {
    const wall0 = performance.now()
    try {
      for await (const chunk of this.trace.chunks()) {
        this.syncModels()
        const { timeMs, model, execMs } = chunk
        const n = chunk.length
        const events = this.events
        for (let i = 0; i < n; i++) {
          const t = timeMs[i]!
          while (events.peekTime() <= t) this.dispatch()
          this.arrive(t, model[i]!, execMs[i]!)
        }
        this.onProgress?.(this.tot.requests)
      }
      this.traceDone = true
      while (this.events.size > 0) this.dispatch()
      const mean = this.timeline.finish(this.now)
      const wallSeconds = (performance.now() - wall0) / 1000
      const result = toResult(
        policyLabel(this.cfg.eviction),
        this.tot,
        this.latency.percentiles(),
        { peak: this.timeline.peakBytes, mean },
        this.tenants.results(this.shares),
        wallSeconds
      )
      return { result, series: { latencyCdf: this.latency.cdf(), timeline: this.timeline.series() } }
    } finally {
      this.latency.destroy()
    }
  }

  // ---- arrivals ---------------------------------------------------------------------------

  private arrive(t: number, m: number, execMs: number): void {
    const tot = this.tot
    const g = this.requestIndex++
    if (tot.requests === 0) {
      this.timeline.start(t)
      if (this.scaling) this.events.push(t + this.scaling.intervalMs, SCALE_TICK, 0)
    }
    this.now = t
    const models = this.models
    const bytes = models.size[m]!
    const tn = models.tenant[m]!
    tot.requests++
    tot.requestBytes += bytes
    this.tenants.requests[tn]!++
    if (this.scaling) this.activity.record(m, t)

    const slot = this.requests.alloc(t, execMs === execMs ? execMs : this.sampleExec(), m)
    const ms = this.modelState
    const loaded = ms.loaded[m]!
    if (loaded.length > 0) {
      tot.hits++
      const c = loaded[route(this.routing, loaded, this.modelIds[m]!, t)]!
      this.serveOn(c, t, g)
      this.enqueue(c, slot, t)
      return
    }
    const all = ms.copies[m]!
    if (all.length > 0) {
      // Only loading copies: wait for that load (single-flight); it now has a waiter.
      tot.hits++
      const c = all[0]!
      this.serveOn(c, t, g)
      this.work.promote(c)
      this.enqueue(c, slot, t)
      return
    }
    if (this.nextUse !== undefined) ms.blockedNextUse[m] = this.nextUse[g]!
    if (ms.isBlocked[m] === 0) {
      tot.misses++
      tot.missedBytes += bytes
      this.tenants.misses[tn]!++
      if (bytes > this.maxInstanceBytes) {
        // Fits nowhere: the request fails at once (no latency recorded, SLO missed).
        tot.failed++
        this.requests.release(slot)
        return
      }
      const c = this.place(m, t, true, this.nextUse !== undefined ? this.nextUse[g]! : Infinity)
      if (c !== undefined) {
        this.enqueue(c, slot, t)
        return
      }
      ms.isBlocked[m] = 1
      ms.blocked.push(m)
    } else {
      // Its load is already pending (waiting for room): it joins that load, like a request for
      // a loading model does.
      tot.hits++
    }
    // Wait for room: appended to the model's pending list.
    this.requests.append(ms.pending[m]!, slot)
  }

  /** Request g will be served by copy c: recency for the cache, the instance's list and its rate. */
  private serveOn(c: Copy, t: number, g: number): void {
    const inst = c.inst
    if (this.offline) {
      // Offline bounds: every copy of the model learns its next use (any copy could serve it).
      const nu = this.nextUse![g]!
      const all = this.modelState.copies[c.model]!
      for (let k = 0; k < all.length; k++) {
        const other = all[k]!
        if (other === c) continue
        other.entry.nextUse = nu
        other.inst.cache.hit(other.entry, t)
      }
      c.entry.nextUse = nu
    }
    inst.cache.hit(c.entry, t)
    inst.recency.moveToFront(c)
    this.instanceRate.record(inst.idx, t)
    if (this.keepAlive) this.scheduleExpiry(inst, t)
  }

  private enqueue(c: Copy, slot: number, t: number): void {
    this.requests.copy[slot] = c.id
    c.inFlight++
    c.entry.inFlight++
    c.inst.inFlight++
    if (this.batches !== undefined) {
      this.requests.append(c.queue, slot)
      c.queued++
      this.batches.pump(c, t)
    } else if (c.loaded && c.executing < c.maxConcurrency) this.work.startExec(c, slot, t)
    else this.requests.append(c.queue, slot)
  }

  // ---- events -----------------------------------------------------------------------------

  private dispatch(): void {
    const ev = this.events
    ev.pop()
    const t = ev.poppedTime
    const kind = ev.poppedKind
    // Once the trace has ended only the requests still in the system are finished: the run ends
    // with the last of them, not when the last keep-alive would have run out.
    if (this.traceDone && (kind === SCALE_TICK || kind === EXPIRE)) return
    this.now = t
    switch (kind) {
      case EXEC_DONE:
        this.execDone(ev.poppedArg, t)
        break
      case LOAD_DONE:
        this.loadDone(this.modelState.byId[ev.poppedArg]!, t)
        break
      case SCALE_TICK:
        this.scaleTick(t)
        break
      case EXPIRE:
        this.expire(this.instances[ev.poppedArg]!, t)
        break
      case BATCH_TICK:
        this.batches!.tick(this.modelState.byId[ev.poppedArg], t)
        break
    }
  }

  private execDone(slot: number, t: number): void {
    if (this.batches !== undefined) return this.batchDone(slot, t)
    const rq = this.requests
    const c = this.modelState.byId[rq.copy[slot]!]!
    this.complete(c, slot, t)
    c.executing--
    this.work.releaseThread(c.inst, t)
    if (c.queue.head !== -1) this.work.startExec(c, rq.shift(c.queue), t)
    else if (c.inFlight === 0) this.becameIdle(c.inst, t)
  }

  /** A batch ended: every member (chained from the leader `slot`) completes at `t`. */
  private batchDone(slot: number, t: number): void {
    const rq = this.requests
    const c = this.modelState.byId[rq.copy[slot]!]!
    for (let s = slot; s !== -1; ) {
      const next = rq.link[s]!
      this.complete(c, s, t)
      s = next
    }
    c.executing--
    this.work.releaseThread(c.inst, t)
    this.batches!.pump(c, t)
    if (c.inFlight === 0) this.becameIdle(c.inst, t)
  }

  /** Request `s` on copy c is answered at `t`: its latency counts, its slot is free. */
  private complete(c: Copy, s: number, t: number): void {
    const rq = this.requests
    const latencyMs = t - rq.arrival[s]! + this.requestOverheadMs
    const us = Math.round(latencyMs * 1000)
    this.latency.record(us)
    const tn = this.models.tenant[rq.model[s]!]!
    this.tenants.recordLatency(tn, us)
    if (latencyMs <= this.sloMs) {
      this.tot.withinSlo++
      this.tenants.withinSlo[tn]!++
    }
    c.inFlight--
    c.entry.inFlight--
    c.inst.inFlight--
    rq.release(s)
  }

  private loadDone(c: Copy, t: number): void {
    const inst = c.inst
    c.entry.loading = false
    c.loaded = true
    inst.activeLoads--
    inst.loadingCopies--
    this.work.releaseThread(inst, t)
    this.modelState.loaded[c.model]!.push(c)
    // Everyone queued so far waited for this load: a cold start each.
    const tot = this.tot
    const tenantOf = this.models.tenant
    const rq = this.requests
    for (let s = c.queue.head; s !== -1; s = rq.link[s]!) {
      const arrival = rq.arrival[s]!
      tot.coldStarts++
      tot.coldStartMs += t - arrival
      this.tenants.coldStarts[tenantOf[rq.model[s]!]!]!++
      this.timeline.coldStart(arrival)
    }
    if (this.batches !== undefined) this.batches.pump(c, t)
    else while (c.queue.head !== -1 && c.executing < c.maxConcurrency) this.work.startExec(c, rq.shift(c.queue), t)
    this.work.startLoads(inst, t)
    if (c.inFlight === 0) this.becameIdle(inst, t)
  }

  /** A copy on `inst` can now be evicted: room may have appeared there for blocked models. */
  private becameIdle(inst: Instance, t: number): void {
    inst.noRoomFor = Infinity
    if (this.modelState.blocked.length > 0) this.retryBlocked(t)
  }

  private scaleTick(t: number): void {
    const scaling = this.scaling!
    for (const inst of this.instances) inst.view.usedBytes = inst.cache.used
    const stats = this.stats
    stats.clusterFreeFraction = clusterFreeFraction(this.views)
    stats.maxCopies = Math.min(this.cfg.cluster.maxCopies, this.instances.length)
    const ms = this.modelState
    // Placement below may evict models and so edit `active`: walk a snapshot.
    const snapshot = ms.active.slice()
    for (const m of snapshot) {
      const all = ms.copies[m]!
      const copies = all.length
      if (copies === 0) continue
      stats.id = this.modelIds[m]!
      stats.copies = copies
      this.activity.fill(stats, m, t)
      const want = targetCopies(scaling, stats, t)
      if (want > copies) {
        for (let k = copies; k < want; k++) if (this.place(m, t, false, all[0]!.entry.nextUse) === undefined) break
      } else if (want < copies) {
        for (const c of copiesToRemove(ms.loaded[m]!, copies - want)) this.remove(c, t)
      }
    }
    if (!this.traceDone) this.events.push(t + scaling.intervalMs, SCALE_TICK, 0)
  }

  /** Scale-down: remove an idle copy. */
  private remove(c: Copy, t: number): void {
    const inst = c.inst
    const before = inst.cache.used
    inst.cache.remove(c.entry.id)
    this.detach(c, t)
    this.memoryChanged(inst.cache.used - before, t)
    inst.noRoomFor = Infinity
  }

  private expire(inst: Instance, t: number): void {
    if (t !== inst.expiryAt) return // superseded by an earlier check that rescheduled
    inst.expiryAt = Infinity
    const before = inst.cache.used
    const gone = inst.cache.expire(t)
    if (gone.length > 0) {
      this.tot.evictions += gone.length
      for (const e of gone) this.detach(inst.copies.get(e.id)!, t)
      this.memoryChanged(inst.cache.used - before, t)
      inst.noRoomFor = Infinity
    }
    this.scheduleExpiry(inst, t)
  }

  private scheduleExpiry(inst: Instance, t: number): void {
    const at = inst.rescheduleExpiry(t)
    if (at !== Infinity) this.events.push(at, EXPIRE, inst.idx)
  }

  // ---- placement, evictions -----------------------------------------------------------------

  /** Place a new copy of model m: core's Placer picks, the cache admits, the load queues. */
  private place(m: number, t: number, demand: boolean, nextUse: number): Copy | undefined {
    const models = this.models
    const ids = this.modelIds
    const size = models.size[m]!
    const existing = this.modelState.copies[m]!
    for (const inst of this.instances) {
      let has = false
      for (let k = 0; k < existing.length; k++) if (existing[k]!.inst === inst) has = true
      inst.refreshView(this.instanceRate.rpm(inst.idx, t), has || size >= inst.noRoomFor)
    }
    const req = this.modelState.placementRequest(m, ids[m]!, this.trace.models.tenants[m]!, size, models.loadCostMs[m]!, this.cfg.cluster.maxCopies)
    const admission = this.admission
    admission.prepare(req.model, nextUse)
    const v = this.placer.place(req, this.views, t, admission)
    if (v === undefined) return undefined
    const inst = this.instances[v.index]!
    const r = admission.result!
    admission.result = undefined
    this.tot.evictions += r.evicted.length
    for (const e of r.evicted) this.detach(inst.copies.get(e.id)!, t)
    this.memoryChanged(inst.cache.used - admission.usedBefore, t)
    const c = this.modelState.attach(m, inst, r.entry, demand)
    this.tot.loads++
    inst.loadingCopies++
    if (demand) inst.demandLoads.push(c)
    else inst.backgroundLoads.push(c)
    this.work.startLoads(inst, t)
    if (this.keepAlive) this.scheduleExpiry(inst, t)
    return c
  }

  /** Something became idle: place blocked models in FIFO order until one still cannot go. */
  private retryBlocked(t: number): void {
    if (this.shared) return this.retryBlockedPerTenant(t)
    const ms = this.modelState
    while (ms.blocked.length > 0) {
      const m = ms.blocked[0]!
      const c = this.place(m, t, true, ms.blockedNextUse[m]!)
      if (c === undefined) return
      ms.blocked.shift()
      this.unblock(m, c, t)
    }
  }

  /** With shares: FIFO per tenant, see blocked.ts */
  private retryBlockedPerTenant(t: number): void {
    const ms = this.modelState
    retryPerTenant(ms.blocked, this.models.tenant, this.tenants.names.length, this.refusedTenants, (m) => {
      const c = this.place(m, t, true, ms.blockedNextUse[m]!)
      if (c === undefined) return false
      this.unblock(m, c, t)
      return true
    })
  }

  private readonly refusedTenants = new Set<number>()

  /** Model m got copy c: its waiting requests join it. */
  private unblock(m: number, c: Copy, t: number): void {
    const ms = this.modelState
    const rq = this.requests
    ms.isBlocked[m] = 0
    const waiting = ms.pending[m]!
    let s = waiting.head
    waiting.head = waiting.tail = -1
    while (s !== -1) {
      const next = rq.link[s]!
      this.enqueue(c, s, t)
      s = next
    }
  }

  /** Forget an evicted / removed copy (the cache has already dropped it); start its unload. */
  private detach(c: Copy, t: number): void {
    this.modelState.detach(c, t + this.cfg.cluster.unloadMs)
  }

  private memoryChanged(delta: number, t: number): void {
    if (delta === 0) return
    this.memoryUsed += delta
    this.timeline.setMemory(t, this.memoryUsed)
  }

  /** the trace's model table grows while streaming: size the per-model state before a chunk */
  private syncModels(): void {
    this.models.sync()
    const n = this.models.count
    this.modelState.ensure(n)
    this.activity.ensure(n)
  }
}

export const runFull = (trace: Trace, cfg: SimConfig, opts: RunOptions = {}): Promise<RunOutput> =>
  new ClusterEngine(trace, cfg, opts).run()
