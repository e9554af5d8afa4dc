/**
 * Dynamic batching in the simulator: a copy's queued requests run together when the core
 * BatchingPolicy says so — the same policy object the server's batcher asks. A batch of k
 * requests (one row each) takes the longest member's execution time × (1 + rowCost × (k − 1)):
 * the cost of one more row relative to a whole run (`meshkit bench --only batching` measures it
 * for a 4 MiB MLP as the figure batchRowCost). Members of a running batch are chained through the request
 * pool's `link` (free once a request has left its queue); the leader's slot carries the event.
 */
import { buildPolicy, makeRng, type BatchingPolicy, type BatchQueueView, type PolicyChoice } from "@meshkit/core"
import type { Copy } from "./copy.js"
import type { EventQueue } from "./event-queue.js"
import type { RequestPool } from "./request-pool.js"
import { BATCH_TICK, type Work } from "./work.js"

export interface BatchingConfig {
  readonly policy: PolicyChoice | string
  /** extra execution time of each row beyond the first, as a fraction of one run */
  readonly rowCost: number
}

export class Batches {
  private readonly policy: BatchingPolicy
  private readonly view = { requests: 0, rows: 0, oldestArrival: Infinity, running: 0 }
  /** batches run, and requests they served */
  runs = 0
  served = 0

  constructor(
    cfg: BatchingConfig,
    private readonly events: EventQueue,
    private readonly requests: RequestPool,
    private readonly work: Work
  ) {
    // The dynamic policy draws no randomness; a fixed stream keeps the build signature.
    this.policy = buildPolicy("batching", cfg.policy, { rng: makeRng(1) })
    this.rowCost = cfg.rowCost
  }
  private readonly rowCost: number

  /** Start as many batches on `c` as the policy wants now; ask for a tick when it wants to wait. */
  pump(c: Copy, t: number): void {
    if (!c.loaded) return
    const rq = this.requests
    const v: { requests: number; rows: number; oldestArrival: number; running: number } = this.view
    for (;;) {
      v.requests = v.rows = c.queued
      v.oldestArrival = c.queue.head === -1 ? Infinity : rq.arrival[c.queue.head]!
      v.running = c.executing
      const want = this.policy.rowsToRun(v as BatchQueueView, t)
      if (want <= 0) {
        const at = this.policy.nextDecisionAt(v as BatchQueueView, t)
        if (at < c.batchWakeAt) {
          c.batchWakeAt = at
          this.events.push(at, BATCH_TICK, c.id)
        }
        return
      }
      const k = want < c.queued ? want : c.queued
      const leader = rq.shift(c.queue)
      let longest = rq.execMs[leader]!
      let last = leader
      for (let i = 1; i < k; i++) {
        const s = rq.shift(c.queue)
        rq.link[last] = s
        last = s
        const e = rq.execMs[s]!
        if (e > longest) longest = e
      }
      rq.link[last] = -1
      rq.execMs[leader] = longest * (1 + this.rowCost * (k - 1))
      c.queued -= k
      this.runs++
      this.served += k
      this.work.startExec(c, leader, t)
    }
  }

  /** A BATCH_TICK for `c` (undefined once the copy is gone). */
  tick(c: Copy | undefined, t: number): void {
    if (c === undefined || t < c.batchWakeAt) return
    c.batchWakeAt = Infinity
    this.pump(c, t)
  }
}
