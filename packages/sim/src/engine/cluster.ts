import {
  type AdmitRequest,
  buildPolicy,
  makeRng,
  type ModelLoadStats,
  type ModelSpec,
  type PlacementPolicy,
  type PlacementRequest,
  type Resident,
  type RoutingPolicy,
  type ScalingPolicy
} from "@meshkit/core"
import { emptyTotals, toResult, type Totals } from "../metrics/counters.js"
import { LatencyRecorder } from "../metrics/latency.js"
import type { RunOutput } from "../metrics/result.js"
import { TenantStats } from "../metrics/tenants.js"
import { Timeline } from "../metrics/timeline.js"
import type { Trace } from "../trace/types.js"
import { isScalingOff, loadTimeMs, policyLabel, type SimConfig } from "./config.js"
import { Copy } from "./copy.js"
import { EventQueue } from "./event-queue.js"
import { execSampler } from "./exec-time.js"
import { Instance } from "./instance.js"
import { ModelIndex } from "./model-index.js"
import { RateWindows } from "./rate-window.js"
import type { RunOptions } from "./run-options.js"

const EXEC_DONE = 1
const LOAD_DONE = 2
const SCALE_TICK = 3
const EXPIRE = 4

/** A model idle this long starts a new "use window" (ModelMesh looks back up to 40 min). */
const USE_WINDOW_GAP_MS = 40 * 60_000
/** How soon to look again when a keep-alive is due but the model is busy. */
const EXPIRY_RETRY_MS = 1000

/**
 * Full mode: a cluster of instances in virtual time. One plain synchronous loop merges the
 * streamed trace with a heap of timed events (execution done, load done, scaling tick,
 * keep-alive check); nothing allocates per request on the hit path.
 *
 * Request path: a model with a loaded copy → routing picks a copy (hit); only loading copies →
 * the request joins that load (single-flight; a background load it waits for is promoted ahead
 * of others); no copy → miss: placement picks an instance, its cache admits (evicting by the
 * policy), the load queues for a slot. A model never leaves the cache while loading or while
 * requests wait, queue or run on it: every such request is counted in the entry's inFlight.
 *
 * When every instance refuses the admission because everything evictable is busy (no-room),
 * the model is "blocked": its requests wait (the later ones join its pending load, as hits),
 * and placement is retried, in FIFO order, each time a copy on some instance becomes idle. (A
 * model larger than every instance fails its requests at once.)
 * Loads on an instance start only after the unloads it has begun finish, so real memory never
 * exceeds capacity; unloads themselves do not use a load slot.
 */
export class ClusterEngine {
  private readonly cfg: SimConfig
  private readonly trace: Trace
  private readonly nextUse: Float64Array | undefined
  private readonly instances: Instance[] = []
  private readonly placement: PlacementPolicy
  private readonly routing: RoutingPolicy
  private readonly scaling: ScalingPolicy | undefined
  private readonly offline: boolean
  private readonly keepAlive: boolean
  private readonly events = new EventQueue(4096)
  private readonly sampleExec: () => number
  private readonly maxInstanceBytes: number
  private readonly sloMs: number
  /** ClusterConfig.requestOverheadMs: latency outside the instances, added to every request's */
  private readonly requestOverheadMs: number
  /** ClusterConfig.loadSigma and the random stream of load-time factors */
  private readonly loadSigma: number
  private readonly loadRng: ReturnType<typeof makeRng>

  private readonly tenants = new TenantStats()
  private readonly models: ModelIndex
  private readonly latency = new LatencyRecorder()
  private readonly timeline = new Timeline()
  private readonly tot: Totals = emptyTotals()
  private memoryUsed = 0
  private now = 0
  private traceDone = false
  private requestIndex = 0

  // Request pool: a request in the system (waiting, queued or executing) occupies one slot.
  private rArrival = new Float64Array(1024)
  private rExec = new Float64Array(1024)
  private rModel = new Int32Array(1024)
  private rCopy = new Int32Array(1024)
  private rNext = new Int32Array(1024)
  private freeReq = -1
  private reqSlots = 0

  private readonly copies: Array<Copy | undefined> = []
  private readonly freeCopyIds: number[] = []

  // Per model: every copy, the loaded ones (routing's candidates), blocked requests.
  private readonly modelCopies: Copy[][] = []
  private readonly modelLoaded: Copy[][] = []
  private readonly specs: Array<ModelSpec | undefined> = []
  private pendHead = new Int32Array(64).fill(-1)
  private pendTail = new Int32Array(64).fill(-1)
  private isBlocked = new Uint8Array(64)
  /** offline policies: next use after the latest request of a model that waits for room */
  private blockedNextUse = new Float64Array(64).fill(Infinity)
  private blocked: number[] = []
  private readonly modelRate = new RateWindows(64)
  private lastUsed = new Float64Array(64).fill(-Infinity)
  private windowStart = new Float64Array(64).fill(-Infinity)
  /** models with at least one copy, for scaling (swap-remove; position + 1, 0 = absent) */
  private active: number[] = []
  private activePos = new Int32Array(64)
  private readonly instanceRate: RateWindows
  private readonly stats: {
    -readonly [K in keyof ModelLoadStats]: ModelLoadStats[K]
  } = { id: "", copies: 0, minCopies: 1, maxCopies: 1, rpm: 0, lastUsed: 0, firstUsedInWindow: -Infinity, clusterFreeFraction: 0 }

  constructor(trace: Trace, cfg: SimConfig, opts: RunOptions = {}) {
    this.cfg = cfg
    this.trace = trace
    this.nextUse = opts.nextUse
    const c = cfg.cluster
    const seed = cfg.seed
    this.placement = buildPolicy("placement", cfg.placement, { rng: makeRng(seed) })
    this.routing = buildPolicy("routing", cfg.routing, { rng: makeRng(seed + 1) })
    this.scaling = isScalingOff(cfg.scaling) ? undefined : buildPolicy("scaling", cfg.scaling, { rng: makeRng(seed + 2) })
    for (let i = 0; i < c.instances; i++) {
      const policy = buildPolicy("eviction", cfg.eviction, { rng: makeRng(seed + 100 + i), capacityBytes: c.memoryBytes })
      const inst = new Instance(i, `instance-${i}`, c.memoryBytes, c.maxConcurrentLoads, policy)
      if (c.runtimeThreads !== undefined && c.runtimeThreads > 0) inst.threadsFree = c.runtimeThreads
      this.instances.push(inst)
    }
    const p0 = this.instances[0]!.policy
    this.offline = p0.offline === true
    if (this.offline && this.nextUse === undefined) throw new Error(`internal: offline policy ${p0.name} needs next-use times`)
    this.keepAlive = typeof p0.expired === "function"
    this.sampleExec = execSampler(c.exec, makeRng(seed + 3))
    this.maxInstanceBytes = c.memoryBytes
    this.requestOverheadMs = c.requestOverheadMs ?? 0
    this.loadSigma = c.loadSigma ?? 0
    this.loadRng = makeRng(seed + 4)
    this.sloMs = cfg.sloMs
    this.models = new ModelIndex(trace.models, this.tenants, (size) => loadTimeMs(c, size))
    this.instanceRate = new RateWindows(c.instances)
    this.onProgress = opts.onProgress
  }

  private readonly onProgress: ((n: number) => void) | undefined

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
      const tot = this.tot
      const result = toResult(
        policyLabel(this.cfg.eviction),
        tot,
        this.latency.percentiles(),
        { peak: this.timeline.peakBytes, mean },
        this.tenants.results(),
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
    if (this.scaling) {
      if (t - this.lastUsed[m]! > USE_WINDOW_GAP_MS) this.windowStart[m] = t
      this.lastUsed[m] = t
      this.modelRate.touch(m, t)
    }

    const slot = this.allocRequest(t, execMs === execMs ? execMs : this.sampleExec(), m)
    const loaded = this.modelLoaded[m]!
    if (loaded.length > 0) {
      tot.hits++
      const c = loaded.length === 1 ? loaded[0]! : loaded[this.routing.choose(loaded, t)]!
      this.touch(c, t, g)
      this.enqueue(c, slot, t)
      return
    }
    const all = this.modelCopies[m]!
    if (all.length > 0) {
      // Only loading copies: wait for that load (single-flight); it now has a waiter.
      tot.hits++
      const c = all[0]!
      this.touch(c, t, g)
      this.promote(c)
      this.enqueue(c, slot, t)
      return
    }
    if (this.nextUse !== undefined) this.blockedNextUse[m] = this.nextUse[g]!
    if (this.isBlocked[m] === 0) {
      tot.misses++
      tot.missedBytes += bytes
      this.tenants.misses[tn]!++
      if (bytes > this.maxInstanceBytes) {
        // Fits nowhere: the request fails at once (no latency recorded, SLO missed).
        tot.failed++
        this.releaseRequest(slot)
        return
      }
      const c = this.place(m, t, true, this.nextUse !== undefined ? this.nextUse[g]! : Infinity)
      if (c !== undefined) {
        this.enqueue(c, slot, t)
        return
      }
      this.isBlocked[m] = 1
      this.blocked.push(m)
    } else {
      // Its load is already pending (waiting for room): it joins that load, like a request for
      // a loading model does.
      tot.hits++
    }
    // Wait for room: appended to the model's pending list.
    this.rNext[slot] = -1
    if (this.pendTail[m] === -1) this.pendHead[m] = slot
    else this.rNext[this.pendTail[m]!] = slot
    this.pendTail[m] = slot
  }

  /** A request goes to copy c: recency for the cache, the instance's list and its rate. */
  private touch(c: Copy, t: number, g: number): void {
    const inst = c.inst
    if (this.offline) {
      // Offline bounds: every copy of the model learns its next use (any copy could serve it).
      const nu = this.nextUse![g]!
      const all = this.modelCopies[c.model]!
      for (let k = 0; k < all.length; k++) {
        const o = all[k]!
        if (o === c) continue
        o.entry.nextUse = nu
        o.inst.cache.hit(o.entry, t)
      }
      c.entry.nextUse = nu
    }
    inst.cache.hit(c.entry, t)
    inst.lruTouch(c)
    this.instanceRate.touch(inst.idx, t)
    if (this.keepAlive) this.scheduleExpiry(inst, t)
  }

  private enqueue(c: Copy, slot: number, t: number): void {
    this.rCopy[slot] = c.id
    c.inFlight++
    c.entry.inFlight++
    c.inst.inFlight++
    if (c.loaded && c.executing < c.maxConcurrency) this.startExec(c, slot, t)
    else {
      this.rNext[slot] = -1
      if (c.qTail === -1) c.qHead = slot
      else this.rNext[c.qTail] = slot
      c.qTail = slot
    }
  }

  private startExec(c: Copy, slot: number, t: number): void {
    c.executing++
    const inst = c.inst
    if (inst.threadsFree > 0) {
      inst.threadsFree--
      this.events.push(t + this.rExec[slot]!, EXEC_DONE, slot)
    } else inst.threadWaiting.push(slot)
  }

  /** A runtime thread of `inst` is done: it takes the oldest waiting work, or goes idle. */
  private releaseThread(inst: Instance, t: number): void {
    if (inst.threadWaiting.size === 0) {
      inst.threadsFree++
      return
    }
    const w = inst.threadWaiting.shift()
    if (w >= 0) this.events.push(t + this.rExec[w]!, EXEC_DONE, w)
    else this.runLoad(this.copies[~w]!, t)
  }

  private runLoad(c: Copy, t: number): void {
    const inst = c.inst
    const start = t > inst.unloadingUntil ? t : inst.unloadingUntil
    const cost = this.models.loadCostMs[c.model]!
    this.events.push(start + (this.loadSigma > 0 ? cost * this.loadFactor() : cost), LOAD_DONE, c.id)
  }

  /** lognormal, mean 1: exp(σ·z − σ²/2) */
  private loadFactor(): number {
    const rng = this.loadRng
    const z = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next())
    const sg = this.loadSigma
    return Math.exp(sg * z - (sg * sg) / 2)
  }

  private dequeue(c: Copy): number {
    const s = c.qHead
    c.qHead = this.rNext[s]!
    if (c.qHead === -1) c.qTail = -1
    return s
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
        this.loadDone(this.copies[ev.poppedArg]!, t)
        break
      case SCALE_TICK:
        this.scaleTick(t)
        break
      case EXPIRE:
        this.expire(this.instances[ev.poppedArg]!, t)
        break
    }
  }

  private execDone(slot: number, t: number): void {
    const c = this.copies[this.rCopy[slot]!]!
    const tot = this.tot
    const latencyMs = t - this.rArrival[slot]! + this.requestOverheadMs
    const us = Math.round(latencyMs * 1000)
    this.latency.record(us)
    this.tenants.recordLatency(this.models.tenant[this.rModel[slot]!]!, us)
    if (latencyMs <= this.sloMs) tot.withinSlo++
    c.executing--
    c.inFlight--
    c.entry.inFlight--
    c.inst.inFlight--
    this.releaseRequest(slot)
    this.releaseThread(c.inst, t)
    if (c.qHead !== -1) this.startExec(c, this.dequeue(c), t)
    else if (c.inFlight === 0) this.becameIdle(c.inst, t)
  }

  private loadDone(c: Copy, t: number): void {
    const inst = c.inst
    c.entry.loading = false
    c.loaded = true
    inst.activeLoads--
    inst.loadingCopies--
    this.releaseThread(inst, t)
    this.modelLoaded[c.model]!.push(c)
    // Everyone queued so far waited for this load: a cold start each.
    const tot = this.tot
    const tenantOf = this.models.tenant
    for (let s = c.qHead; s !== -1; s = this.rNext[s]!) {
      const arrival = this.rArrival[s]!
      tot.coldStarts++
      tot.coldStartMs += t - arrival
      this.tenants.coldStarts[tenantOf[this.rModel[s]!]!]!++
      this.timeline.coldStart(arrival)
    }
    while (c.qHead !== -1 && c.executing < c.maxConcurrency) this.startExec(c, this.dequeue(c), t)
    this.startLoads(inst, t)
    if (c.inFlight === 0) this.becameIdle(inst, t)
  }

  /** A copy on `inst` can now be evicted: room may have appeared there for blocked models. */
  private becameIdle(inst: Instance, t: number): void {
    inst.noRoomFor = Infinity
    if (this.blocked.length > 0) this.retryBlocked(t)
  }

  private scaleTick(t: number): void {
    const scaling = this.scaling!
    let used = 0
    let cap = 0
    for (const inst of this.instances) {
      used += inst.cache.used
      cap += inst.capacity
    }
    const stats = this.stats
    stats.clusterFreeFraction = cap > 0 ? Math.max(0, 1 - used / cap) : 0
    stats.maxCopies = Math.min(this.cfg.cluster.maxCopies, this.instances.length)
    // Placement below may evict models and so edit `active`: walk a snapshot.
    const snapshot = this.active.slice()
    for (const m of snapshot) {
      const all = this.modelCopies[m]!
      const copies = all.length
      if (copies === 0) continue
      stats.id = this.trace.models.ids[m]!
      stats.copies = copies
      stats.rpm = this.modelRate.rpm(m, t)
      stats.lastUsed = this.lastUsed[m]!
      stats.firstUsedInWindow = this.windowStart[m]!
      // The last copy is the eviction policy's to remove, not scaling's.
      const want = Math.max(1, Math.min(stats.maxCopies, scaling.desiredCopies(stats, t)))
      if (want > copies) {
        for (let k = copies; k < want; k++) if (this.place(m, t, false, all[0]!.entry.nextUse) === undefined) break
      } else if (want < copies) {
        this.scaleDown(m, copies - want, t)
      }
    }
    if (!this.traceDone) this.events.push(t + scaling.intervalMs, SCALE_TICK, 0)
  }

  /** Remove up to n idle loaded copies of model m, least recently used first; busy ones stay. */
  private scaleDown(m: number, n: number, t: number): void {
    const idle = this.modelLoaded[m]!.filter((c) => c.inFlight === 0)
    idle.sort((a, b) => a.entry.lastUsed - b.entry.lastUsed || a.inst.idx - b.inst.idx)
    for (let k = 0; k < n && k < idle.length; k++) {
      const c = idle[k]!
      const inst = c.inst
      const before = inst.cache.used
      inst.cache.remove(c.entry.id)
      this.detach(c, t)
      this.memoryChanged(inst.cache.used - before, t)
      inst.noRoomFor = Infinity
    }
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
    const next = inst.policy.nextExpiry?.() ?? Infinity
    if (next === Infinity || next >= inst.expiryAt) return
    // Due but busy (can't go yet): look again a little later rather than spin at time t.
    const at = next > t ? next : t + EXPIRY_RETRY_MS
    if (at >= inst.expiryAt) return
    inst.expiryAt = at
    this.events.push(at, EXPIRE, inst.idx)
  }

  // ---- placement, loads, evictions --------------------------------------------------------

  /** Place a new copy of model m: placement picks, the cache admits, the load queues. */
  private place(m: number, t: number, demand: boolean, nextUse: number): Copy | undefined {
    const models = this.models
    const id = this.trace.models.ids[m]!
    const size = models.size[m]!
    const views = this.views
    const existing = this.modelCopies[m]!
    for (const inst of this.instances) {
      let has = false
      for (let k = 0; k < existing.length; k++) if (existing[k]!.inst === inst) has = true
      views[inst.idx] = inst.refreshView(this.instanceRate.rpm(inst.idx, t), has || size >= inst.noRoomFor)
    }
    const req = this.placementRequest(m)
    const admit = this.admitRequest
    admit.id = id
    admit.tenant = this.trace.models.tenants[m]!
    admit.size = size
    admit.loadCostMs = models.loadCostMs[m]!
    admit.nextUse = nextUse
    for (let attempt = 0; attempt < views.length; attempt++) {
      const v = this.placement.choose(req, views, t) as (typeof views)[number] | undefined
      if (v === undefined) return undefined
      const inst = this.instances[v.idx]!
      const before = inst.cache.used
      const r = inst.cache.admit(admit, t)
      if (!r.ok) {
        // Everything evictable there is not enough: try the next choice without this instance,
        // and don't ask it again for a model this large until something there goes idle.
        if (size < inst.noRoomFor) inst.noRoomFor = size
        v.hasModel = true
        continue
      }
      this.tot.evictions += r.evicted.length
      for (const e of r.evicted) this.detach(inst.copies.get(e.id)!, t)
      this.memoryChanged(inst.cache.used - before, t)
      const c = this.attach(m, inst, r.entry, demand)
      this.tot.loads++
      inst.loadingCopies++
      if (demand) inst.demandLoads.push(c)
      else inst.backgroundLoads.push(c)
      this.startLoads(inst, t)
      if (this.keepAlive) this.scheduleExpiry(inst, t)
      return c
    }
    return undefined
  }

  private readonly views: Array<ReturnType<Instance["refreshView"]>> = []
  /** reused for every admission (the cache does not keep it) */
  private readonly admitRequest: { -readonly [K in keyof AdmitRequest]-?: AdmitRequest[K] } = {
    id: "",
    tenant: "",
    size: 0,
    loadCostMs: 0,
    pinned: false,
    nextUse: Infinity
  }

  private readonly placeReq: { model: ModelSpec; sizeBytes: number } = { model: undefined as unknown as ModelSpec, sizeBytes: 0 }

  private placementRequest(m: number): PlacementRequest {
    let spec = this.specs[m]
    if (spec === undefined) {
      spec = {
        id: this.trace.models.ids[m]!,
        tenant: this.trace.models.tenants[m]!,
        format: "sim",
        uri: "",
        sizeBytes: this.models.size[m]!,
        loadCostMs: this.models.loadCostMs[m]!,
        labels: {},
        pinned: false,
        minCopies: 1,
        maxCopies: this.cfg.cluster.maxCopies
      }
      this.specs[m] = spec
    }
    const req = this.placeReq
    req.model = spec
    req.sizeBytes = spec.sizeBytes
    return req
  }

  private promote(c: Copy): void {
    if (c.demand || c.loadStarted) return
    c.demand = true
    c.inst.demandLoads.push(c)
  }

  /** Fill free load slots. A load transfers only after the instance's pending unloads finish. */
  private startLoads(inst: Instance, t: number): void {
    while (inst.activeLoads < inst.maxLoads) {
      const c = inst.nextLoad()
      if (c === undefined) return
      c.loadStarted = true
      inst.activeLoads++
      // holding a load slot, the load may still wait for a runtime thread
      if (inst.threadsFree > 0) {
        inst.threadsFree--
        this.runLoad(c, t)
      } else inst.threadWaiting.push(~c.id)
    }
  }

  private attach(m: number, inst: Instance, entry: Resident, demand: boolean): Copy {
    const id = this.freeCopyIds.length > 0 ? this.freeCopyIds.pop()! : this.copies.length
    const c = new Copy(id, m, inst, entry, this.cfg.cluster.modelConcurrency, demand)
    this.copies[id] = c
    inst.copies.set(entry.id, c)
    inst.lruPushHead(c)
    const all = this.modelCopies[m]!
    all.push(c)
    if (all.length === 1) {
      this.active.push(m)
      this.activePos[m] = this.active.length
    }
    return c
  }

  /** Forget an evicted / removed copy (the cache has already dropped it); start its unload. */
  private detach(c: Copy, t: number): void {
    const inst = c.inst
    const m = c.model
    inst.copies.delete(c.entry.id)
    inst.lruUnlink(c)
    removeFrom(this.modelCopies[m]!, c)
    if (c.loaded) removeFrom(this.modelLoaded[m]!, c)
    this.copies[c.id] = undefined
    this.freeCopyIds.push(c.id)
    const until = t + this.cfg.cluster.unloadMs
    if (until > inst.unloadingUntil) inst.unloadingUntil = until
    if (this.modelCopies[m]!.length === 0) {
      const pos = this.activePos[m]! - 1
      const last = this.active.pop()!
      if (last !== m) {
        this.active[pos] = last
        this.activePos[last] = pos + 1
      }
      this.activePos[m] = 0
    }
  }

  /** Something became idle: place blocked models in FIFO order until one still cannot go. */
  private retryBlocked(t: number): void {
    while (this.blocked.length > 0) {
      const m = this.blocked[0]!
      const c = this.place(m, t, true, this.blockedNextUse[m]!)
      if (c === undefined) return
      this.blocked.shift()
      this.isBlocked[m] = 0
      let s = this.pendHead[m]!
      this.pendHead[m] = this.pendTail[m] = -1
      while (s !== -1) {
        const next = this.rNext[s]!
        this.enqueue(c, s, t)
        s = next
      }
    }
  }

  private memoryChanged(delta: number, t: number): void {
    if (delta === 0) return
    this.memoryUsed += delta
    this.timeline.setMemory(t, this.memoryUsed)
  }

  // ---- pools ------------------------------------------------------------------------------

  private syncModels(): void {
    const models = this.models
    models.sync()
    const n = models.count
    while (this.modelCopies.length < n) {
      this.modelCopies.push([])
      this.modelLoaded.push([])
      this.specs.push(undefined)
    }
    if (n > this.pendHead.length) {
      const cap = Math.max(n, this.pendHead.length * 2)
      this.pendHead = growI32(this.pendHead, cap, -1)
      this.pendTail = growI32(this.pendTail, cap, -1)
      this.activePos = growI32(this.activePos, cap, 0)
      const b = new Uint8Array(cap)
      b.set(this.isBlocked)
      this.isBlocked = b
      this.lastUsed = growF64(this.lastUsed, cap, -Infinity)
      this.windowStart = growF64(this.windowStart, cap, -Infinity)
      this.blockedNextUse = growF64(this.blockedNextUse, cap, Infinity)
    }
    this.modelRate.ensure(n)
  }

  private allocRequest(t: number, execMs: number, m: number): number {
    let s = this.freeReq
    if (s !== -1) this.freeReq = this.rNext[s]!
    else {
      if (this.reqSlots === this.rArrival.length) this.growRequests()
      s = this.reqSlots++
    }
    this.rArrival[s] = t
    this.rExec[s] = execMs
    this.rModel[s] = m
    return s
  }

  private releaseRequest(s: number): void {
    this.rNext[s] = this.freeReq
    this.freeReq = s
  }

  private growRequests(): void {
    const cap = this.rArrival.length * 2
    this.rArrival = growF64(this.rArrival, cap, 0)
    this.rExec = growF64(this.rExec, cap, 0)
    this.rModel = growI32(this.rModel, cap, 0)
    this.rCopy = growI32(this.rCopy, cap, 0)
    this.rNext = growI32(this.rNext, cap, -1)
  }
}

const removeFrom = (a: Copy[], c: Copy): void => {
  const i = a.indexOf(c)
  if (i >= 0) a.splice(i, 1)
}

const growI32 = (a: Int32Array, cap: number, fill: number): Int32Array<ArrayBuffer> => {
  const b = new Int32Array(cap).fill(fill)
  b.set(a)
  return b
}
const growF64 = (a: Float64Array, cap: number, fill: number): Float64Array<ArrayBuffer> => {
  const b = new Float64Array(cap).fill(fill)
  b.set(a)
  return b
}

export const runFull = (trace: Trace, cfg: SimConfig, opts: RunOptions = {}): Promise<RunOutput> =>
  new ClusterEngine(trace, cfg, opts).run()
