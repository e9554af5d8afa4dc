/**
 * How this instance's models are used, for the scaling decision and the instance record: per
 * model the core's ModelActivity (rpm, last use, start of the current use window: what the
 * simulator feeds the same scaling policies), and the instance's own request rate. One call
 * per served request, O(1), no allocation once a model has its index.
 */
import { ModelActivity, modelLoadStatsState, RateWindows } from "@meshkit/core"
import type { ModelEntry } from "../instance/model-entry.js"
import type { ModelManager } from "../instance/model-manager.js"
import type { LocalModelUse } from "./copy-keeper.js"

export class ModelUse {
  private readonly index = new WeakMap<ModelEntry, number>()
  private next = 0
  private readonly activity = new ModelActivity(64)
  private readonly instance = new RateWindows(1)
  private readonly stats = modelLoadStatsState()

  record(e: ModelEntry): void {
    let i = this.index.get(e)
    if (i === undefined) {
      i = this.next++
      this.index.set(e, i)
      this.activity.ensure(this.next)
    }
    const t = Date.now()
    this.activity.record(i, t)
    this.instance.record(0, t)
  }

  instanceRpm(now: number): number {
    return this.instance.rpm(0, now)
  }

  /** The loaded models with their use (allocates: called by timers, not per request). */
  loadedUse(manager: ModelManager, now: number): LocalModelUse[] {
    const out: LocalModelUse[] = []
    for (const e of manager.all()) {
      if (e.phase !== "loaded") continue
      const i = this.index.get(e)
      if (i === undefined) {
        out.push({ id: e.id, lastUsed: e.lastUsed, inFlight: e.inFlight, rpm: 0, firstUsedInWindow: -Infinity })
        continue
      }
      this.activity.fill(this.stats, i, now)
      out.push({ id: e.id, lastUsed: this.stats.lastUsed, inFlight: e.inFlight, rpm: this.stats.rpm, firstUsedInWindow: this.stats.firstUsedInWindow })
    }
    return out
  }
}
