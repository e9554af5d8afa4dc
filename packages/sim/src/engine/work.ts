/**
 * What runs on an instance's runtime: request executions and model loads. Loads wait for a load
 * slot (loads a request waits for before background ones), then, like executions, for a runtime
 * thread when ClusterConfig.runtimeThreads bounds them; a load's transfer starts only after the
 * instance's pending unloads finish, so real memory never exceeds capacity. Completion events go
 * to the engine's queue.
 */
import type { Rng } from "@meshkit/core"
import type { Copy } from "./copy.js"
import type { EventQueue } from "./event-queue.js"
import type { Instance } from "./instance.js"
import type { RequestPool } from "./request-pool.js"
import { isHold, type ThreadHolds } from "./thread-hold.js"

/** event kinds of the engine's queue */
export const EXEC_DONE = 1
export const LOAD_DONE = 2
export const SCALE_TICK = 3
export const EXPIRE = 4
export const BATCH_TICK = 5

export class Work {
  constructor(
    private readonly events: EventQueue,
    private readonly requests: RequestPool,
    /** copy id → copy, as the engine registers them */
    private readonly copies: ReadonlyArray<Copy | undefined>,
    private readonly loadCostMs: (m: number) => number,
    /** ClusterConfig.loadSigma and the random stream of load-time factors */
    private readonly loadSigma: number,
    private readonly loadRng: Rng,
    /** unload holds (thread-hold.ts), when the cluster configures them */
    readonly holds?: ThreadHolds,
    /** ClusterConfig.slowdown (slowdown.ts): a cost starting at t as it is run; absent: as given */
    private readonly stretch?: (t: number, ms: number) => number
  ) {}

  /** request `slot` starts on copy c (which has a free concurrency slot) */
  startExec(c: Copy, slot: number, t: number): void {
    c.executing++
    const inst = c.inst
    if (inst.threadsFree > 0) {
      inst.threadsFree--
      const ms = this.requests.execMs[slot]!
      this.events.push(t + (this.stretch === undefined ? ms : this.stretch(t, ms)), EXEC_DONE, slot)
    } else inst.threadWaiting.push(slot)
  }

  /** A runtime thread of `inst` is done: it takes the oldest waiting work, or goes idle. */
  releaseThread(inst: Instance, t: number): void {
    if (inst.threadWaiting.size === 0) {
      inst.threadsFree++
      return
    }
    const w = inst.threadWaiting.shift()
    if (w >= 0) {
      const ms = this.requests.execMs[w]!
      this.events.push(t + (this.stretch === undefined ? ms : this.stretch(t, ms)), EXEC_DONE, w)
    }
    else if (isHold(w)) this.holds!.start(inst, w, t)
    else this.runLoad(this.copies[~w]!, t)
  }

  /** A request now waits for c's load: it goes ahead of background loads. */
  promote(c: Copy): void {
    if (c.demand || c.loadStarted) return
    c.demand = true
    c.inst.demandLoads.push(c)
  }

  /** Fill free load slots. A load transfers only after the instance's pending unloads finish. */
  startLoads(inst: Instance, t: number): void {
    while (inst.activeLoads < inst.maxLoads) {
      const c = inst.nextLoad()
      if (c === undefined) return
      c.loadStarted = true
      inst.activeLoads++
      // holding a load slot, the load may still wait for a runtime thread
      if (inst.threadsFree > 0) {
        inst.threadsFree--
        this.runLoad(c, t)
      } else inst.threadWaiting.push(~c.id)
    }
  }

  private runLoad(c: Copy, t: number): void {
    const inst = c.inst
    const start = t > inst.unloadingUntil ? t : inst.unloadingUntil
    const cost = this.stretch === undefined ? this.loadCostMs(c.model) : this.stretch(start, this.loadCostMs(c.model))
    this.events.push(start + (this.loadSigma > 0 ? cost * this.loadFactor() : cost), LOAD_DONE, c.id)
  }

  /** lognormal, mean 1: exp(σ·z − σ²/2) */
  private loadFactor(): number {
    const rng = this.loadRng
    const z = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next())
    const sg = this.loadSigma
    return Math.exp(sg * z - (sg * sg) / 2)
  }
}
