/**
 * Keep-alive in full mode (eviction policies with `expired` / `nextExpiry`, e.g. ttl): one
 * pending check per instance, scheduled for the policy's next expiry; a check unloads what has
 * run out and may go, then schedules the next one.
 */
import type { Totals } from "../metrics/counters.js"
import type { CopyPlacement, MemoryLedger } from "./copy-placement.js"
import type { EventQueue } from "./event-queue.js"
import type { Instance } from "./instance.js"
import { EXPIRE } from "./work.js"

export class KeepAlive {
  constructor(
    private readonly events: EventQueue,
    private readonly tot: Totals,
    private readonly memory: MemoryLedger,
    private readonly placement: () => CopyPlacement
  ) {}

  /** the EXPIRE event of `inst` at t */
  expire(inst: Instance, t: number): void {
    if (t !== inst.expiryAt) return // superseded by an earlier check that rescheduled
    inst.expiryAt = Infinity
    const before = inst.cache.used
    const gone = inst.cache.expire(t)
    if (gone.length > 0) {
      this.tot.evictions += gone.length
      const placement = this.placement()
      for (const e of gone) placement.detach(placement.copyOf(e), t)
      this.memory.changed(inst.cache.used - before, t)
      inst.noRoomFor = Infinity
    }
    this.schedule(inst, t)
  }

  /** after a request or an admission on `inst`: make sure its next expiry is checked */
  schedule(inst: Instance, t: number): void {
    const at = inst.rescheduleExpiry(t)
    if (at !== Infinity) this.events.push(at, EXPIRE, inst.idx)
  }
}
