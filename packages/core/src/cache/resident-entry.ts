import type { ModelId, Resident, TenantId } from "../domain.js"

/**
 * The cache's resident record, built by a constructor rather than an object literal: on the
 * simulator's miss path (hundreds of thousands of admissions a run) V8 cloned the literal's
 * boilerplate through a slower route than an inlined constructor allocates (measured: the
 * literal took ~5 % of a full-mode run). Same fields, same order, a plain data object.
 * Field order is layout: what a hit and a victim walk touch comes first, so that it tends to
 * share one CPU cache line with the object header (a hit's first touch is a memory miss).
 */
export class ResidentEntry implements Resident {
  lastUsed: number
  hits = 1
  slot: unknown = undefined
  size: number
  inFlight = 0
  loading = true
  pinned: boolean
  readonly id: ModelId
  readonly tenant: TenantId
  loadCostMs: number
  insertedAt: number
  nextUse: number
  key: number

  constructor(id: ModelId, tenant: TenantId, size: number, loadCostMs: number, pinned: boolean, now: number, nextUse: number, key: number) {
    this.lastUsed = now
    this.size = size
    this.pinned = pinned
    this.id = id
    this.tenant = tenant
    this.loadCostMs = loadCostMs
    this.insertedAt = now
    this.nextUse = nextUse
    this.key = key
  }
}
