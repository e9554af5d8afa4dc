/**
 * Per-model state of a full-mode run, indexed by the trace's model integers, and the copies'
 * lifecycle (attach on admission, detach on eviction): every copy of each model and the loaded ones (routing's candidates), the requests waiting for room (pending), the
 * blocked models in the order they blocked, and the set of models with at least one copy (what
 * scaling walks).
 */
import type { ModelSpec, PlacementRequest, Resident } from "@meshkit/core"
import { Copy } from "./copy.js"
import type { Instance } from "./instance.js"
import { emptyFifo, growF64, growI32, type SlotFifo } from "./request-pool.js"

export class ModelState {
  /** copy id → copy (ids are reused once a copy is gone) */
  readonly byId: Array<Copy | undefined> = []
  private readonly freeIds: number[] = []
  /** every copy, loading or loaded */
  readonly copies: Copy[][] = []
  /** the loaded copies: routing's candidates */
  readonly loaded: Copy[][] = []
  private readonly requests: Array<PlacementRequest | undefined> = []
  /** requests waiting for room (the model is blocked): they join its copy once one is placed */
  readonly pending: SlotFifo[] = []
  isBlocked = new Uint8Array(64)
  /** offline policies: next use after the latest request of a model that waits for room */
  blockedNextUse = new Float64Array(64).fill(Infinity)
  /** blocked models, oldest first: placement is retried in this order */
  readonly blocked: number[] = []
  /** models with at least one copy, for scaling (swap-remove; position + 1, 0 = absent) */
  readonly active: number[] = []
  private activePos = new Int32Array(64)

  /** make room for models below n */
  ensure(n: number): void {
    while (this.copies.length < n) {
      this.copies.push([])
      this.loaded.push([])
      this.requests.push(undefined)
      this.pending.push(emptyFifo())
    }
    if (n > this.activePos.length) {
      const cap = Math.max(n, this.activePos.length * 2)
      this.activePos = growI32(this.activePos, cap, 0)
      const b = new Uint8Array(cap)
      b.set(this.isBlocked)
      this.isBlocked = b
      this.blockedNextUse = growF64(this.blockedNextUse, cap, Infinity)
    }
  }

  constructor(private readonly modelConcurrency: number) {}

  /** what placing model m asks for (built once per model: policies may key on `model.id`) */
  placementRequest(m: number, id: string, tenant: string, sizeBytes: number, loadCostMs: number, maxCopies: number): PlacementRequest {
    let req = this.requests[m]
    if (req === undefined) {
      const model: ModelSpec = { id, tenant, format: "sim", uri: "", sizeBytes, loadCostMs, labels: {}, pinned: false, minCopies: 1, maxCopies }
      req = this.requests[m] = { model, sizeBytes }
    }
    return req
  }

  /** A new copy of model m, admitted by `inst`'s cache as `entry`. */
  attach(m: number, inst: Instance, entry: Resident, demand: boolean): Copy {
    const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.byId.length
    const c = new Copy(id, m, inst, entry, this.modelConcurrency, demand)
    this.byId[id] = c
    inst.recency.pushFront(c)
    this.addCopy(c)
    return c
  }

  /** Forget a copy its cache has dropped; its instance is busy unloading it until `unloadedAt`. */
  detach(c: Copy, unloadedAt: number): void {
    const inst = c.inst
    const e = c.entry
    if (!e.loading && e.inFlight === 0) inst.idleBytes -= e.size
    inst.recency.unlink(c)
    this.removeCopy(c)
    this.byId[c.id] = undefined
    this.freeIds.push(c.id)
    if (unloadedAt > inst.unloadingUntil) inst.unloadingUntil = unloadedAt
  }

  private addCopy(c: Copy): void {
    const m = c.model
    const all = this.copies[m]!
    all.push(c)
    if (all.length === 1) {
      this.active.push(m)
      this.activePos[m] = this.active.length
    }
  }

  private removeCopy(c: Copy): void {
    const m = c.model
    const all = this.copies[m]!
    removeFrom(all, c)
    if (c.loaded) removeFrom(this.loaded[m]!, c)
    if (all.length === 0) {
      const pos = this.activePos[m]! - 1
      const last = this.active.pop()!
      if (last !== m) {
        this.active[pos] = last
        this.activePos[last] = pos + 1
      }
      this.activePos[m] = 0
    }
  }
}

/** Remove c keeping the order (routing's ties go to the earlier copy). Not splice: it allocates. */
const removeFrom = (a: Copy[], c: Copy): void => {
  const i = a.indexOf(c)
  if (i < 0) return
  for (let j = i + 1; j < a.length; j++) a[j - 1] = a[j]!
  a.pop()
}
