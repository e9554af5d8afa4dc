/**
 * Retrying blocked models (waiting for room) when tenant shares are on. Whether a model fits
 * then depends on its tenant, so one tenant's oldest blocked model that still cannot go must not
 * hold back the others' (without shares the engine keeps one FIFO: a refusal there holds for
 * every later model). FIFO within each tenant; one pass over the list, stopping once every
 * tenant has been refused. `place(m)` places model m or returns false; the placed ones leave
 * `blocked` (kept in order), which is edited in place.
 */
import type { Copy } from "./copy.js"
import type { CopyPlacement } from "./copy-placement.js"
import type { ModelIndex } from "./model-index.js"
import type { ModelState } from "./model-state.js"
import type { RequestPool } from "./request-pool.js"

export const retryPerTenant = (
  blocked: number[],
  tenantOf: Int32Array,
  tenantCount: number,
  refused: Set<number>,
  place: (m: number) => boolean
): void => {
  refused.clear()
  let keep = 0
  let i = 0
  for (; i < blocked.length; i++) {
    const m = blocked[i]!
    const tn = tenantOf[m]!
    if (refused.has(tn)) {
      blocked[keep++] = m
      continue
    }
    if (place(m)) continue
    refused.add(tn)
    blocked[keep++] = m
    if (refused.size >= tenantCount) {
      i++
      break
    }
  }
  for (; i < blocked.length; i++) blocked[keep++] = blocked[i]!
  blocked.length = keep
}

/**
 * Models blocked for lack of room, retried each time a copy goes idle somewhere (see cluster.ts):
 * one FIFO without tenant shares (a refusal there holds for every later model), FIFO per tenant
 * with them (retryPerTenant). A placed model's waiting requests join its new copy.
 */
export class BlockedRetry {
  private readonly refusedTenants = new Set<number>()
  private readonly placeFor: (m: number) => boolean

  constructor(
    private readonly ms: ModelState,
    private readonly requests: RequestPool,
    private readonly placement: CopyPlacement,
    private readonly models: ModelIndex,
    private readonly tenantCount: () => number,
    /** tenant shares are on: a blocked model of one tenant must not hold back the others' */
    private readonly shared: boolean,
    private readonly enqueue: (c: Copy, slot: number, t: number) => void
  ) {
    this.placeFor = (m) => {
      const c = this.placement.place(m, this.now, true, this.ms.blockedNextUse[m]!)
      if (c === undefined) return false
      this.unblock(m, c, this.now)
      return true
    }
  }

  private now = 0

  /** Something became idle: place blocked models in FIFO order until one still cannot go. */
  retry(t: number): void {
    const ms = this.ms
    if (this.shared) {
      this.now = t
      retryPerTenant(ms.blocked, this.models.tenant, this.tenantCount(), this.refusedTenants, this.placeFor)
      return
    }
    while (ms.blocked.length > 0) {
      const m = ms.blocked[0]!
      const c = this.placement.place(m, t, true, ms.blockedNextUse[m]!)
      if (c === undefined) return
      ms.blocked.shift()
      this.unblock(m, c, t)
    }
  }

  /** Model m got copy c: its waiting requests join it. */
  private unblock(m: number, c: Copy, t: number): void {
    const ms = this.ms
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
}
