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
 *
 * This file is the loop, the arrivals and the completions; the rest lives beside it:
 * copy-placement.ts (placing a copy, forgetting one, the memory figure), blocked.ts (retrying
 * blocked models), scaling-tick.ts, keep-alive.ts, work.ts (executions and loads on an instance).
 */
import { buildPolicy, ClusterSignal, ModelActivity, Placer, policyRng, RateWindows, route, type InstanceViewState, type RoutingPolicy, type ScalingPolicy } from "@meshkit/core"
import { emptyTotals, toResult, type Totals } from "../metrics/counters.js"
import { LatencyRecorder } from "../metrics/latency.js"
import type { RunOutput } from "../metrics/result.js"
import { TenantStats } from "../metrics/tenants.js"
import { sharesFor } from "./shares.js"
import { BlockedRetry } from "./blocked.js"
import { CopyPlacement, MemoryLedger } from "./copy-placement.js"
import { KeepAlive } from "./keep-alive.js"
import { ScalingTick } from "./scaling-tick.js"
import { Timeline } from "../metrics/timeline.js"
import type { Trace } from "../trace/types.js"
import { CacheAdmission } from "./admission.js"
import { isScalingOff, loadTimeMs, policyLabel, type SimConfig } from "./config.js"
import type { Copy } from "./copy.js"
import { EventQueue } from "./event-queue.js"
import { ExecSampler } from "./exec-time.js"
import { buildInstances, type Instance } from "./instance.js"
import { ModelIndex } from "./model-index.js"
import { ModelState } from "./model-state.js"
import { RequestPool } from "./request-pool.js"
import type { RunOptions } from "./run-options.js"
import { Batches } from "./batches.js"
import { BATCH_TICK, EXEC_DONE, EXPIRE, LOAD_DONE, SCALE_TICK, Work } from "./work.js"
import { HOLD_DONE, ThreadHolds } from "./thread-hold.js"
import { stretcher } from "./slowdown.js"

export class ClusterEngine {
  private readonly cfg: SimConfig
  private readonly trace: Trace
  /** the trace's model ids by index (the array grows while streaming; it is never replaced) */
  private readonly modelIds: readonly string[]
  private readonly nextUse: Float64Array | undefined
  private readonly instances: Instance[]
  private readonly routing: RoutingPolicy
  private readonly scaling: ScalingPolicy | undefined
  private readonly offline: boolean
  private readonly shares: ReadonlyMap<string, number> | undefined
  /** keep-alive checks, for eviction policies with an idle timeout */
  private readonly keepAlive: KeepAlive | undefined
  private readonly placement: CopyPlacement
  private readonly blockedRetry: BlockedRetry
  private readonly scaleTicks: ScalingTick | undefined
  private readonly memory: MemoryLedger
  private readonly events = new EventQueue(4096)
  private readonly work: Work
  /** dynamic batching, when the cluster configures it */
  private readonly batches: Batches | undefined
  private readonly execTimes: ExecSampler
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
  private now = 0
  private traceDone = false
  private requestIndex = 0
  /** the execution times of the trace chunk being replayed (NaN: draw one) */
  private chunkExecMs: Float64Array = new Float64Array(0)

  private readonly requests = new RequestPool()
  private readonly modelState: ModelState
  /** per model: what scaling reads (rate, last use, start of the current use window) */
  private readonly activity = new ModelActivity()
  private readonly instanceRate: RateWindows
  /** the cluster-wide request stream, when an instance's eviction policy listens to it */
  private readonly signal: ClusterSignal | undefined

  constructor(trace: Trace, cfg: SimConfig, opts: RunOptions = {}) {
    this.cfg = cfg
    this.trace = trace
    this.modelIds = trace.models.ids
    this.nextUse = opts.nextUse
    const c = cfg.cluster
    const seed = cfg.seed
    const placer = new Placer<InstanceViewState>(buildPolicy("placement", cfg.placement, { rng: policyRng(seed, "placement") }))
    this.routing = buildPolicy("routing", cfg.routing, { rng: policyRng(seed, "routing") })
    this.scaling = isScalingOff(cfg.scaling) ? undefined : buildPolicy("scaling", cfg.scaling, { rng: policyRng(seed, "scaling") })
    // the cluster-wide request stream, for eviction policies that learn from the traffic
    const signal = new ClusterSignal(c.instances, c.memoryBytes)
    // the caches file residents by model index (this.models is set below, before any admission)
    this.instances = buildInstances(cfg, signal, (id) => this.models.indexOf(id))
    this.signal = signal.listening ? signal : undefined
    const views = this.instances.map((inst) => inst.view)
    this.shares = sharesFor(cfg.shares, c.memoryBytes)
    const shared = this.shares !== undefined
    const admission = new CacheAdmission(this.instances, !shared, opts.checkShortcuts)
    const p0 = this.instances[0]!.policy
    this.offline = p0.offline === true
    if (this.offline && this.nextUse === undefined) throw new Error(`internal: offline policy ${p0.name} needs next-use times`)
    this.execTimes = new ExecSampler(c.exec, policyRng(seed, "exec"))
    this.maxInstanceBytes = c.memoryBytes
    this.requestOverheadMs = c.requestOverheadMs ?? 0
    this.sloMs = cfg.sloMs
    this.models = new ModelIndex(trace.models, this.tenants, (size) => loadTimeMs(c, size))
    this.instanceRate = new RateWindows(c.instances)
    this.onProgress = opts.onProgress
    this.modelState = new ModelState(c.modelConcurrency)
    const stretch = c.slowdown === undefined ? undefined : stretcher(c.slowdown)
    const holds = (c.unloadHoldMs ?? 0) > 0 ? new ThreadHolds(this.events, c.unloadHoldMs!, stretch ?? ((_t, ms) => ms)) : undefined
    this.work = new Work(this.events, this.requests, this.modelState.byId, (m) => this.models.loadCostMs[m]!, c.loadSigma ?? 0, policyRng(seed, "load"), holds, stretch)
    this.batches = c.batching === undefined ? undefined : new Batches(c.batching, this.events, this.requests, this.work)
    this.memory = new MemoryLedger(this.timeline)
    const keepAlive = typeof p0.expired === "function" ? new KeepAlive(this.events, this.tot, this.memory, () => this.placement) : undefined
    this.keepAlive = keepAlive
    this.placement = new CopyPlacement({
      instances: this.instances,
      views,
      placer,
      admission,
      modelState: this.modelState,
      models: this.models,
      table: trace.models,
      instanceRate: this.instanceRate,
      work: this.work,
      tot: this.tot,
      memory: this.memory,
      maxCopies: c.maxCopies,
      unloadMs: c.unloadMs,
      check: opts.checkShortcuts,
      scheduleExpiry: keepAlive === undefined ? undefined : (inst, t) => keepAlive.schedule(inst, t)
    })
    const enqueue = (cp: Copy, slot: number, t: number) => this.enqueue(cp, slot, t)
    this.blockedRetry = new BlockedRetry(this.modelState, this.requests, this.placement, this.models, () => this.tenants.names.length, shared, enqueue)
    this.scaleTicks =
      this.scaling === undefined
        ? undefined
        : new ScalingTick(this.scaling, this.instances, views, this.modelState, this.activity, this.modelIds, this.placement, this.memory, c.maxCopies)
  }

  async run(): Promise<RunOutput> {
    const wall0 = performance.now()
    try {
      for await (const chunk of this.trace.chunks()) {
        this.syncModels()
        const { timeMs, model, execMs } = chunk
        const n = chunk.length
        const events = this.events
        this.chunkExecMs = execMs
        for (let i = 0; i < n; i++) {
          const t = timeMs[i]!
          while (events.peekTime() <= t) this.dispatch()
          // the time goes by field and the execution time by index: a double passed to a call
          // that is not inlined is boxed, an allocation per request
          this.now = t
          this.arrive(model[i]!, i)
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

  /** request i of the current chunk, for model m, at this.now */
  private arrive(m: number, i: number): void {
    const t = this.now
    const execMs = this.chunkExecMs[i]!
    const tot = this.tot
    const g = this.requestIndex++
    if (tot.requests === 0) {
      this.timeline.start(t)
      if (this.scaling) this.events.push(t + this.scaling.intervalMs, SCALE_TICK, 0)
    }
    const models = this.models
    const bytes = models.size[m]!
    const tn = models.tenant[m]!
    tot.requests++
    tot.requestBytes += bytes
    this.tenants.requests[tn]!++
    if (this.scaling) this.activity.record(m, t)
    if (this.signal !== undefined) this.signal.request(this.modelIds[m]!, this.trace.models.tenants[m]!, bytes, models.loadCostMs[m]!, t)

    const slot = this.requests.alloc(t, execMs === execMs ? execMs : this.execTimes.next(), m)
    const ms = this.modelState
    const loaded = ms.loaded[m]!
    if (loaded.length > 0) {
      tot.hits++
      // (one copy, the common case, needs no choice: the model's id is not even looked up)
      const c = loaded.length === 1 ? loaded[0]! : loaded[route(this.routing, loaded, this.modelIds[m]!, t)]!
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
      const c = this.placement.place(m, t, true, this.nextUse !== undefined ? this.nextUse[g]! : Infinity)
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
    if (this.keepAlive !== undefined) this.keepAlive.schedule(inst, t)
  }

  private enqueue(c: Copy, slot: number, t: number): void {
    this.requests.copy[slot] = c.id
    const e = c.entry
    // a loaded copy's first request makes it busy: the cache can no longer evict it
    if (e.inFlight++ === 0 && !e.loading) c.inst.idleBytes -= e.size
    c.inFlight++
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
        this.execDone(ev.poppedArg)
        break
      case LOAD_DONE:
        this.loadDone(this.modelState.byId[ev.poppedArg]!)
        break
      case SCALE_TICK:
        this.scaleTick(t)
        break
      case EXPIRE:
        this.keepAlive!.expire(this.instances[ev.poppedArg]!, t)
        break
      case BATCH_TICK:
        this.batches!.tick(this.modelState.byId[ev.poppedArg], t)
        break
      case HOLD_DONE:
        this.work.releaseThread(this.instances[ev.poppedArg]!, t)
        break
    }
  }

  /** (at this.now: see run) */
  private execDone(slot: number): void {
    const t = this.now
    if (this.batches !== undefined) return this.batchDone(slot, t)
    const rq = this.requests
    const c = this.modelState.byId[rq.copy[slot]!]!
    this.complete(c, slot)
    c.executing--
    this.work.releaseThread(c.inst, t)
    if (c.queue.head !== -1) this.work.startExec(c, rq.shift(c.queue), t)
    else if (c.inFlight === 0) this.becameIdle(c.inst)
  }

  /** A batch ended: every member (chained from the leader `slot`) completes at `t`. */
  private batchDone(slot: number, t: number): void {
    const rq = this.requests
    const c = this.modelState.byId[rq.copy[slot]!]!
    for (let s = slot; s !== -1; ) {
      const next = rq.link[s]!
      this.complete(c, s)
      s = next
    }
    c.executing--
    this.work.releaseThread(c.inst, t)
    this.batches!.pump(c, t)
    if (c.inFlight === 0) this.becameIdle(c.inst)
  }

  /**
   * Request `s` on copy c is answered now: its latency counts, its slot is free. (The time is
   * read from this.now, not passed: a double argument of a call that is not inlined is boxed, a
   * heap number per request.)
   */
  private complete(c: Copy, s: number): void {
    const t = this.now
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
    const e = c.entry
    if (--e.inFlight === 0 && !e.loading) c.inst.idleBytes += e.size
    c.inst.inFlight--
    rq.release(s)
  }

  private loadDone(c: Copy): void {
    const t = this.now
    const inst = c.inst
    c.entry.loading = false
    if (c.entry.inFlight === 0) inst.idleBytes += c.entry.size
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
    if (c.inFlight === 0) this.becameIdle(inst)
  }

  /** A copy on `inst` can now be evicted: room may have appeared there for blocked models. */
  private becameIdle(inst: Instance): void {
    inst.noRoomFor = Infinity
    if (this.modelState.blocked.length > 0) this.blockedRetry.retry(this.now)
  }

  private scaleTick(t: number): void {
    this.scaleTicks!.tick(t)
    if (!this.traceDone) this.events.push(t + this.scaling!.intervalMs, SCALE_TICK, 0)
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
