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
import type { InstanceViewState, Placer, RateWindows } from "@meshkit/core"
import type { Totals } from "../metrics/counters.js"
import type { Timeline } from "../metrics/timeline.js"
import type { ModelTable } from "../trace/types.js"
import type { CacheAdmission } from "./admission.js"
import type { Copy } from "./copy.js"
import type { Instance } from "./instance.js"
import type { ModelIndex } from "./model-index.js"
import type { ModelState } from "./model-state.js"
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
  /** keep-alive policies: (re)schedule the instance's expiry check after an admission */
  readonly scheduleExpiry: ((inst: Instance, t: number) => void) | undefined
}

export class CopyPlacement {
  private readonly d: CopyPlacementDeps

  constructor(deps: CopyPlacementDeps) {
    this.d = deps
  }

  /** Place a new copy of model m: core's Placer picks, the cache admits, the load queues. */
  place(m: number, t: number, demand: boolean, nextUse: number): Copy | undefined {
    const d = this.d
    const models = d.models
    const size = models.size[m]!
    const instances = d.instances
    const rate = d.instanceRate
    for (let i = 0; i < instances.length; i++) {
      const inst = instances[i]!
      inst.refreshView(rate.rpm(i, t), size >= inst.noRoomFor)
    }
    // instances already holding (or loading) the model are not candidates
    const existing = d.modelState.copies[m]!
    for (let k = 0; k < existing.length; k++) d.views[existing[k]!.inst.idx]!.hasModel = true
    const ms = d.modelState
    const req = ms.placementRequest(m, d.table.ids[m]!, d.table.tenants[m]!, size, models.loadCostMs[m]!, d.maxCopies)
    const admission = d.admission
    admission.prepare(req.model, nextUse)
    const v = d.placer.place(req, d.views, t, admission)
    if (v === undefined) return undefined
    const inst = instances[v.index]!
    const r = admission.result!
    admission.result = undefined
    const evicted = r.evicted
    d.tot.evictions += evicted.length
    for (let k = 0; k < evicted.length; k++) this.detach(inst.copies.get(evicted[k]!.id)!, t)
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

  /** Forget an evicted / removed copy (the cache has already dropped it); start its unload. */
  detach(c: Copy, t: number): void {
    this.d.modelState.detach(c, t + this.d.unloadMs)
    this.d.work.holds?.unload(c.inst, t)
  }
}
