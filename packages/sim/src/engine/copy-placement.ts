/**
 * Placing a new copy of a model (full mode): the engine's instances are shown to core's `Placer`
 * as their placement views, the chosen instance's cache admits the model (evicting by its
 * policy), the evicted copies are forgotten and start unloading, and the new copy's load queues
 * for a slot. Also the one place that forgets a copy (eviction, keep-alive, scale-down) and keeps
 * the cluster's memory figure.
 *
 * This runs on every miss and on every retry of a blocked model (the Azure trace's minute
 * boundaries make hundreds of those in a row), so it allocates nothing itself and touches each
 * instance once: views are refreshed in one pass, the instances already holding the model are
 * marked from the model's own copy list (at most maxCopies) instead of a scan per instance.
 */
import type { InstanceViewState, Placer, RateWindows, Resident } from "@meshkit/core"
import type { Totals } from "../metrics/counters.js"
import type { Timeline } from "../metrics/timeline.js"
import type { ModelTable } from "../trace/types.js"
import type { CacheAdmission } from "./admission.js"
import type { Copy } from "./copy.js"
import type { Instance } from "./instance.js"
import type { ModelIndex } from "./model-index.js"
import type { ModelState } from "./model-state.js"
import type { ShortcutCheck } from "./run-options.js"
import type { Work } from "./work.js"

/** The cluster's reserved memory (resident or loading) over time, for the timeline. */
export class MemoryLedger {
  private used = 0
  constructor(private readonly timeline: Timeline) {}

  changed(delta: number, t: number): void {
    if (delta === 0) return
    this.used += delta
    this.timeline.setMemory(t, this.used)
  }
}

export interface CopyPlacementDeps {
  readonly instances: readonly Instance[]
  readonly views: readonly InstanceViewState[]
  readonly placer: Placer<InstanceViewState>
  readonly admission: CacheAdmission
  readonly modelState: ModelState
  readonly models: ModelIndex
  readonly table: ModelTable
  readonly instanceRate: RateWindows
  readonly work: Work
  readonly tot: Totals
  readonly memory: MemoryLedger
  readonly maxCopies: number
  readonly unloadMs: number
  /** tests: take no shortcut, check each one's prediction instead (RunOptions.checkShortcuts) */
  readonly check: ShortcutCheck | undefined
  /** keep-alive policies: (re)schedule the instance's expiry check after an admission */
  readonly scheduleExpiry: ((inst: Instance, t: number) => void) | undefined
}

/** onlyCandidate: placing may succeed, or needs a choice among several instances */
const NO_SHORTCUT = -2

export class CopyPlacement {
  private readonly d: CopyPlacementDeps
  /** per instance: `stamp` when it holds the model being placed (see cannotPlace) */
  private readonly holds: Int32Array
  private stamp = 0
  /** time at which every instance's rate window was last rolled (by a refresh or cannotPlace) */
  private ratesRolledAt = NaN

  constructor(deps: CopyPlacementDeps) {
    this.d = deps
    this.holds = new Int32Array(deps.instances.length)
  }

  /** Place a new copy of model m: core's Placer picks, the cache admits, the load queues. */
  place(m: number, t: number, demand: boolean, nextUse: number): Copy | undefined {
    const d = this.d
    const models = d.models
    const size = models.size[m]!
    const instances = d.instances
    const rate = d.instanceRate
    // (checking: no shortcut taken, its prediction checked against core's and the cache's answer)
    const mustFail = d.check !== undefined && this.onlyCandidate(m, size) !== NO_SHORTCUT
    if (d.check === undefined && this.cannotPlace(m, size, t)) return undefined
    for (let i = 0; i < instances.length; i++) {
      const inst = instances[i]!
      inst.refreshView(rate.rpm(i, t), size >= inst.noRoomFor)
    }
    this.ratesRolledAt = t
    // instances already holding (or loading) the model are not candidates
    const existing = d.modelState.copies[m]!
    for (let k = 0; k < existing.length; k++) d.views[existing[k]!.inst.idx]!.hasModel = true
    const ms = d.modelState
    const req = ms.placementRequest(m, d.table.ids[m]!, d.table.tenants[m]!, size, models.loadCostMs[m]!, d.maxCopies)
    const admission = d.admission
    admission.prepare(req.model, m, nextUse)
    const v = d.placer.place(req, d.views, t, admission)
    if (mustFail) {
      if (v !== undefined) throw new Error(`internal: model ${d.table.ids[m]} was placed where placement was predicted to fail`)
      d.check!.placements++
    }
    if (v === undefined) return undefined
    const inst = instances[v.index]!
    const r = admission.result!
    admission.result = undefined
    const evicted = r.evicted
    d.tot.evictions += evicted.length
    for (let k = 0; k < evicted.length; k++) this.detach(this.copyOf(evicted[k]!), t)
    d.memory.changed(inst.cache.used - admission.usedBefore, t)
    const c = ms.attach(m, inst, r.entry, demand)
    d.tot.loads++
    inst.loadingCopies++
    if (demand) inst.demandLoads.push(c)
    else inst.backgroundLoads.push(c)
    d.work.startLoads(inst, t)
    d.scheduleExpiry?.(inst, t)
    return c
  }

  /**
   * Whether placing model m now must fail with no decision to make: no instance that could take
   * it (not holding it, not known full for its size) has enough idle bytes to make room, and at
   * most one such instance exists. Core's Placer would then ask the policy to choose among at most
   * one candidate (no policy draws from its random stream or changes state for that), be refused
   * and give up; this does the same in a few comparisons. The one outcome kept is the refusal
   * remembered on that instance (CacheAdmission.refuse); the instances' rate windows roll as a
   * placement's view refresh would roll them, so later rpm figures are the same.
   * Most placements on the Azure trace's minute boundaries end here: blocked models retried on
   * the one instance where a copy just went idle, for which that copy frees too little.
   */
  private cannotPlace(m: number, size: number, t: number): boolean {
    const only = this.onlyCandidate(m, size)
    if (only === NO_SHORTCUT) return false
    const d = this.d
    if (t !== this.ratesRolledAt) {
      for (let i = 0; i < d.instances.length; i++) d.instanceRate.rpm(i, t)
      this.ratesRolledAt = t
    }
    if (only >= 0) d.admission.refuse(d.instances[only]!, size)
    return true
  }

  /**
   * For cannotPlace, without side effects: NO_SHORTCUT when placing m may succeed or needs a
   * choice among several instances; otherwise the one instance that could take it (and will
   * refuse), -1 for none. "Could take it" is core's eligibility rule (isEligible) as it applies
   * to the simulator's views, which carry no labels and never shut down, with the instances the
   * view refresh marks as known full for this size.
   */
  private onlyCandidate(m: number, size: number): number {
    const instances = this.d.instances
    const holds = this.holds
    const stamp = ++this.stamp
    const existing = this.d.modelState.copies[m]!
    for (let k = 0; k < existing.length; k++) holds[existing[k]!.inst.idx] = stamp
    let only = -1
    for (let i = 0; i < instances.length; i++) {
      const inst = instances[i]!
      if (size >= inst.noRoomFor || holds[i] === stamp || inst.capacity < size) continue
      if (only >= 0 || inst.couldAdmit(size)) return NO_SHORTCUT
      only = i
    }
    return only
  }

  /**
   * The copy a cache entry stands for (the cache hands back its entries, e.g. as victims): found
   * among its model's copies (at most maxCopies) rather than through a map per instance, which
   * every admission and eviction would have to update. The caches file their entries by model
   * index (ModelCacheOptions.keyOf), so the entry carries its model's.
   */
  copyOf(e: Resident): Copy {
    const all = this.d.modelState.copies[e.key!]!
    for (let k = 0; k < all.length; k++) if (all[k]!.entry === e) return all[k]!
    throw new Error(`internal: no copy for cache entry ${e.id}`)
  }

  /** Forget an evicted / removed copy (the cache has already dropped it); start its unload. */
  detach(c: Copy, t: number): void {
    this.d.modelState.detach(c, t + this.d.unloadMs)
    this.d.work.holds?.unload(c.inst, t)
  }
}
