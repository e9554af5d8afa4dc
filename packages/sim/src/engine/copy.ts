import type { CopyView, Resident } from "@meshkit/core"
import type { Instance } from "./instance.js"

/**
 * One copy of a model on one instance, from admission (loading) until it is evicted. Its
 * requests form one FIFO (request slots linked through the engine's request pool): while the
 * copy loads they all wait for that single load; once loaded, up to `maxConcurrency` execute and
 * the rest queue. `inFlight` (the CopyView routing reads) counts waiting + queued + executing,
 * and is mirrored into the cache entry so the cache never evicts a copy in use.
 */
export class Copy implements CopyView {
  readonly instanceId: string
  inFlight = 0
  executing = 0
  /** request slots: head/tail of this copy's FIFO, -1 when empty */
  qHead = -1
  qTail = -1
  loaded = false
  loadStarted = false
  /** a request waits for this load: it goes ahead of background (scaling) loads */
  demand: boolean
  /** the instance's recency list (most recently requested copy at the head) */
  lruPrev: Copy | null = null
  lruNext: Copy | null = null

  constructor(
    readonly id: number,
    readonly model: number,
    readonly inst: Instance,
    readonly entry: Resident,
    readonly maxConcurrency: number,
    demand: boolean
  ) {
    this.instanceId = inst.id
    this.demand = demand
  }
}
