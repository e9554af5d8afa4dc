/**
 * One copy of a model on one instance, from admission (loading) until it is evicted. Its
 * requests form one FIFO (request slots linked through the engine's request pool): while the
 * copy loads they all wait for that single load; once loaded, up to `maxConcurrency` execute and
 * the rest queue. `inFlight` (the CopyView routing reads) counts waiting + queued + executing,
 * and is mirrored into the cache entry so the cache never evicts a copy in use.
 */
import type { CopyView, RecencyNode, Resident, ScalableCopy } from "@meshkit/core"
import type { Instance } from "./instance.js"
import { emptyFifo, type SlotFifo } from "./request-pool.js"

export class Copy implements CopyView, ScalableCopy, RecencyNode<Copy> {
  readonly instanceId: string
  inFlight = 0
  /** running executions (with batching: running batches) */
  executing = 0
  /** requests in `queue` (kept for batching decisions) */
  queued = 0
  /** batching: the time of the pending decision tick, Infinity when none */
  batchWakeAt = Infinity
  /** this copy's requests that wait for its load or for a concurrency slot, oldest first */
  readonly queue: SlotFifo = emptyFifo()
  loaded = false
  loadStarted = false
  /** a request waits for this load: it goes ahead of background (scaling) loads */
  demand: boolean
  /** links in the instance's recency list (most recently requested copy first) */
  recencyPrev: Copy | null = null
  recencyNext: Copy | null = null

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

  get lastUsed(): number {
    return this.entry.lastUsed
  }

  get instanceIndex(): number {
    return this.inst.idx
  }
}
