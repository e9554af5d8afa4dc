/**
 * Scaling in full mode: every `intervalMs` core's scaling policy is asked, for each model with a
 * copy, how many copies it wants; extra copies are placed as background loads, idle extra copies
 * are removed (the last copy is the eviction policy's to remove).
 */
import {
  clusterFreeFraction,
  copiesToRemove,
  modelLoadStatsState,
  type InstanceViewState,
  type ModelActivity,
  type ScalingPolicy,
  targetCopies
} from "@meshkit/core"
import type { Copy } from "./copy.js"
import type { CopyPlacement, MemoryLedger } from "./copy-placement.js"
import type { Instance } from "./instance.js"
import type { ModelState } from "./model-state.js"

export class ScalingTick {
  private readonly stats = modelLoadStatsState()

  constructor(
    private readonly scaling: ScalingPolicy,
    private readonly instances: readonly Instance[],
    private readonly views: readonly InstanceViewState[],
    private readonly modelState: ModelState,
    private readonly activity: ModelActivity,
    private readonly modelIds: readonly string[],
    private readonly placement: CopyPlacement,
    private readonly memory: MemoryLedger,
    private readonly maxCopies: number
  ) {}

  tick(t: number): void {
    const scaling = this.scaling
    for (const inst of this.instances) inst.view.usedBytes = inst.cache.used
    const stats = this.stats
    stats.clusterFreeFraction = clusterFreeFraction(this.views)
    stats.maxCopies = Math.min(this.maxCopies, this.instances.length)
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
        for (let k = copies; k < want; k++) if (this.placement.place(m, t, false, all[0]!.entry.nextUse) === undefined) break
      } else if (want < copies) {
        for (const c of copiesToRemove(ms.loaded[m]!, copies - want)) this.remove(c, t)
      }
    }
  }

  /** Scale-down: remove an idle copy. */
  private remove(c: Copy, t: number): void {
    const inst = c.inst
    const before = inst.cache.used
    inst.cache.remove(c.entry.id)
    this.placement.detach(c, t)
    this.memory.changed(inst.cache.used - before, t)
    inst.noRoomFor = Infinity
  }
}
