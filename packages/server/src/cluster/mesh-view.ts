/**
 * The cluster as this instance sees it, in the shapes the core's decisions read: one
 * InstanceViewState per live instance (refreshed from the watched instance records, this
 * instance's own from its cache), plus the loads this instance has sent somewhere and not yet
 * seen in that instance's record. Counting those reservations is what keeps instances deciding
 * on the same stale records from all picking the same target (kserve/modelmesh#469).
 */
import { InstanceViewState } from "@meshkit/core"
import type { InstanceRecord, InstanceStatus } from "./records.js"

/** How long a reservation counts when the target's record never shows the load. */
export const RESERVATION_MS = 5_000

interface Reservation {
  readonly model: string
  readonly bytes: number
  readonly at: number
}

export class MeshView {
  private readonly views = new Map<string, InstanceViewState>()
  private readonly reserved = new Map<string, Reservation[]>()
  private readonly list: InstanceViewState[] = []

  constructor(readonly selfId: string) {}

  /**
   * Rebuilds the views from the records (and this instance's own status, fresher than its
   * record). Returns them in a stable order (by id), so the same state gives the same choices.
   */
  refresh(records: Iterable<InstanceRecord>, self: InstanceStatus, now: number): readonly InstanceViewState[] {
    const list = this.list
    list.length = 0
    const seen = new Set<string>()
    const all: { id: string; s: InstanceStatus }[] = []
    for (const r of records) if (r.id !== this.selfId) all.push({ id: r.id, s: r })
    all.push({ id: this.selfId, s: self })
    all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    for (const { id, s } of all) {
      seen.add(id)
      let v = this.views.get(id)
      if (v === undefined) {
        v = new InstanceViewState(0, id, s.capacityBytes, s.loadSlots)
        this.views.set(id, v)
      }
      ;(v as { index: number }).index = list.length
      v.capacityBytes = s.capacityBytes
      v.maxConcurrentLoads = s.loadSlots
      v.usedBytes = s.usedBytes
      v.labels = s.labels
      v.loadingCount = s.loadingModels.length
      v.inFlight = s.inFlight
      v.modelCount = s.models.length + s.loadingModels.length
      v.lruTime = s.lruTime > 0 ? s.lruTime : Infinity
      v.rpm = s.rpm
      v.shuttingDown = s.shuttingDown
      v.hasModel = false
      v.version = s.version
      // Loads sent there that its record does not show yet still count.
      const rs = this.reserved.get(id)
      if (rs !== undefined) {
        const keep = rs.filter((x) => now - x.at < RESERVATION_MS && !s.models.includes(x.model) && !s.loadingModels.includes(x.model))
        if (keep.length === 0) this.reserved.delete(id)
        else this.reserved.set(id, keep)
        for (const x of keep) {
          v.loadingCount++
          v.modelCount++
          v.usedBytes += x.bytes
        }
      }
      list.push(v)
    }
    for (const id of [...this.views.keys()]) if (!seen.has(id)) this.views.delete(id)
    return list
  }

  /** Remember that a load of `model` was sent to `instanceId` (placement already counted it in the view). */
  reserve(instanceId: string, model: string, bytes: number, now: number): void {
    const rs = this.reserved.get(instanceId) ?? []
    rs.push({ model, bytes, at: now })
    this.reserved.set(instanceId, rs)
  }

  /** Reservations still outstanding on `instanceId` (for tests and /v1/cluster). */
  reservations(instanceId: string): number {
    return this.reserved.get(instanceId)?.length ?? 0
  }
}
