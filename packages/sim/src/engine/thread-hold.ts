/**
 * Runtime-thread holds that are not a load or an inference: the synchronous part of an unload
 * (ClusterConfig.unloadHoldMs). A meshkit server with its ONNX runtime on the JS thread releases
 * an evicted session synchronously: for that time nothing else runs on the instance, whichever
 * model it belongs to. A hold waits for a runtime thread in arrival order like any other work
 * and then keeps it for its duration; with unlimited runtime threads (runtimeThreads 0) it holds
 * nothing, as there is no thread to take.
 *
 * Work waiting for a thread is one integer in the instance's threadWaiting queue: a request
 * slot (≥ 0), a load (~copyId, from −1 down) or a hold (HOLD_BASE − k, k indexing `ms`), so
 * holds keep their place in the same FIFO without a second queue.
 */
import type { EventQueue } from "./event-queue.js"
import type { Instance } from "./instance.js"

/** event kind: a hold is over (arg: the instance's index) */
export const HOLD_DONE = 6

/** codes at or below this are holds; copy ids (loads are ~copyId) stay far above */
export const HOLD_BASE = -(2 ** 30)

export const isHold = (w: number): boolean => w <= HOLD_BASE

export class ThreadHolds {
  /** durations of holds waiting for a thread, by code; freed codes are reused */
  private ms = new Float64Array(16)
  private readonly free: number[] = []
  private next = 0

  constructor(
    private readonly events: EventQueue,
    /** ClusterConfig.unloadHoldMs */
    readonly unloadHoldMs: number,
    /** ClusterConfig.slowdown (slowdown.ts) */
    private readonly stretch: (t: number, ms: number) => number = (_t, ms) => ms
  ) {}

  /** An unload of a copy on `inst` starts at `t`: it holds a thread there for unloadHoldMs. */
  unload(inst: Instance, t: number): void {
    this.hold(inst, t, this.unloadHoldMs)
  }

  /** Hold one runtime thread of `inst` for `ms` from `t`, or as soon as one is free. */
  hold(inst: Instance, t: number, ms: number): void {
    if (!(ms > 0) || inst.threadsFree === Infinity) return
    if (inst.threadsFree > 0) {
      inst.threadsFree--
      this.events.push(t + this.stretch(t, ms), HOLD_DONE, inst.idx)
      return
    }
    const k = this.free.pop() ?? this.next++
    if (k >= this.ms.length) {
      const grown = new Float64Array(this.ms.length * 2)
      grown.set(this.ms)
      this.ms = grown
    }
    this.ms[k] = ms
    inst.threadWaiting.push(HOLD_BASE - k)
  }

  /** A waiting hold (`code`, see isHold) got a thread of `inst` at `t`. */
  start(inst: Instance, code: number, t: number): void {
    const k = HOLD_BASE - code
    this.free.push(k)
    this.events.push(t + this.stretch(t, this.ms[k]!), HOLD_DONE, inst.idx)
  }
}
