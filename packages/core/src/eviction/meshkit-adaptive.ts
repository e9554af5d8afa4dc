import { Schema } from "effect"
import { definePolicy, type BuildContext } from "../registry.js"
import type { ModelId, Resident } from "../domain.js"
import { SlotHeap } from "./heap.js"
import type { EvictionPolicy } from "./policy.js"
import { SlotQueue, Slots } from "./slots.js"

const Share = Schema.Number.pipe(Schema.between(0, 1))

export const MeshkitAdaptiveOptions = Schema.Struct({
  /** initial share of the bytes for the probation queue (then learned, see adaptStep) */
  probation: Schema.optionalWith(Share, { default: () => 0.05 }),
  /** bounds of the adapted probation share */
  minProbation: Schema.optionalWith(Share, { default: () => 0.02 }),
  maxProbation: Schema.optionalWith(Share, { default: () => 0.2 }),
  /** remember evicted models (id, frequency) up to this share of the capacity in bytes */
  ghost: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 8)), { default: () => 1 }),
  /** requests needed during probation to be promoted instead of evicted */
  promoteAt: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 8)), { default: () => 2 }),
  /**
   * learning rate of the probation share (ARC-style, from ghost hits): each returning model moves
   * the target by this fraction of its size; 0 keeps the share fixed
   */
  adaptStep: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)), { default: () => 0.05 }),
  /** miss cost in the main queue's priority: the model's load time, or 1 (pure miss count) */
  cost: Schema.optionalWith(Schema.Literal("load", "uniform"), { default: () => "load" as const })
})
export type MeshkitAdaptiveOptions = typeof MeshkitAdaptiveOptions.Type

const PROBATION = 0
const MAIN = 1
const GONE = 2

/** An evicted model remembered by id: how often it was used and where it was evicted from. */
interface Ghost {
  readonly size: number
  readonly freq: number
  readonly fromProbation: boolean
}

/**
 * meshkit-adaptive: S3-FIFO's probation in front of a cost-aware GDSF main queue, with an
 * ARC-style learned split between them.
 *  - New models enter a probation FIFO; those requested `promoteAt` times before reaching its
 *    tail move to main, the others are evicted cheaply (one-hit wonders never disturb main).
 *  - Main orders by GDSF priority H = L + F × C / S (frequency, load cost, size, with the clock
 *    L = H of the last main victim aging models that stopped being used).
 *  - Evicted models are remembered (id, frequency) in a ghost queue; a returning model skips
 *    probation and keeps its frequency. A ghost hit on a model evicted from probation means
 *    probation was too short: its share grows by `adaptStep` × the model's size; one evicted from
 *    main means main was too small: probation shrinks. So the split follows the trace's phase.
 * Victims: from probation unless main is over its share (or probation has nothing to give).
 * Promotions found while choosing enter main after the walk (the heap must not change during
 * it); they become victims of that call only when nothing else is left.
 */
export const meshkitAdaptive = (options: MeshkitAdaptiveOptions, capacityBytes: number): EvictionPolicy => {
  if (!(capacityBytes > 0)) throw new RangeError(`meshkit-adaptive needs the cache capacity in bytes, got ${capacityBytes}`)
  const minTarget = capacityBytes * Math.min(options.minProbation, options.maxProbation)
  const maxTarget = capacityBytes * Math.max(options.minProbation, options.maxProbation)
  let target = Math.min(maxTarget, Math.max(minTarget, capacityBytes * options.probation))
  const ghostCap = capacityBytes * options.ghost
  const { promoteAt } = options
  const step = options.adaptStep
  const uniform = options.cost === "uniform"

  // per slot: bits = queue, count = requests (frequency), bytes = size as counted, mark = victim epoch
  const slots = new Slots()
  const probation = new SlotQueue(slots)
  let probationBytes = 0
  const main = new SlotHeap(slots)
  let mainBytes = 0
  let clock = 0
  let seq = 0
  let epoch = 1
  const promoted: number[] = []
  const ghosts = new Map<ModelId, Ghost>()
  let ghostBytes = 0

  const refresh = (s: number, e: Resident): void => {
    main.key[s] = clock + (slots.count[s]! * (uniform ? 1 : e.loadCostMs)) / Math.max(1, e.size)
    main.tie[s] = seq++
  }

  const toMain = (s: number): void => {
    slots.bits[s] = MAIN
    refresh(s, slots.res[s]!)
    main.push(s)
    mainBytes += slots.bytes[s]!
  }

  const flushPromoted = (): void => {
    for (let i = 0; i < promoted.length; i++) toMain(promoted[i]!)
    promoted.length = 0
  }

  const remember = (e: Resident, freq: number, fromProbation: boolean): void => {
    const old = ghosts.get(e.id)
    if (old !== undefined) {
      ghosts.delete(e.id)
      ghostBytes -= old.size
    }
    ghosts.set(e.id, { size: e.size, freq, fromProbation })
    ghostBytes += e.size
    while (ghostBytes > ghostCap && ghosts.size > 0) {
      const [id, g] = ghosts.entries().next().value as [ModelId, Ghost]
      ghosts.delete(id)
      ghostBytes -= g.size
    }
  }

  // State of one chooseVictims walk (kept out here so the walk allocates no closures).
  let cursor = -1
  let probationLeft = 0
  let mainLeft = 0

  /** Next victim from probation's tail, promoting those requested enough on the way; -1 if none. */
  const fromProbation = (evictable: (e: Resident) => boolean): number => {
    const { prev, count, bytes, res } = slots
    while (cursor >= 0) {
      const s = cursor
      cursor = prev[s]!
      if (count[s]! >= promoteAt) {
        probation.unlink(s)
        probationBytes -= bytes[s]!
        probationLeft -= bytes[s]!
        mainLeft += bytes[s]!
        promoted.push(s)
      } else if (evictable(res[s]!)) {
        probationLeft -= bytes[s]!
        return s
      }
    }
    return -1
  }

  /** Next victim in main's priority order not yet offered in this call; -1 if none. */
  const fromMain = (evictable: (e: Resident) => boolean): number => {
    const { bytes, mark, res } = slots
    for (let s = main.nextInWalk(); s >= 0; s = main.nextInWalk()) {
      if (mark[s] !== epoch && evictable(res[s]!)) {
        mainLeft -= bytes[s]!
        return s
      }
    }
    return -1
  }

  return {
    name: "meshkit-adaptive",
    onInsert(e) {
      epoch++
      const s = slots.alloc(e)
      const g = ghosts.get(e.id)
      if (g === undefined) {
        slots.count[s] = 1
        slots.bits[s] = PROBATION
        probation.pushHead(s)
        probationBytes += e.size
        return
      }
      ghosts.delete(e.id)
      ghostBytes -= g.size
      slots.count[s] = g.freq + 1
      if (step > 0) target = g.fromProbation ? Math.min(maxTarget, target + g.size * step) : Math.max(minTarget, target - g.size * step)
      toMain(s)
    },
    onHit(e) {
      epoch++
      const s = e.slot as number
      slots.count[s] = slots.count[s]! + 1
      if (slots.bits[s] === MAIN) {
        refresh(s, e)
        main.update(s)
      }
    },
    onResize(e) {
      const s = e.slot as number
      const delta = e.size - slots.bytes[s]!
      if (slots.bits[s] === MAIN) mainBytes += delta
      else if (slots.bits[s] === PROBATION) probationBytes += delta
      slots.bytes[s] = e.size
    },
    onRemove(e) {
      const s = e.slot as number
      const evicted = slots.mark[s] === epoch
      if (slots.bits[s] === PROBATION) {
        probation.unlink(s)
        probationBytes -= slots.bytes[s]!
        if (evicted) remember(e, slots.count[s]!, true)
      } else if (slots.bits[s] === MAIN) {
        main.remove(s)
        mainBytes -= slots.bytes[s]!
        if (evicted) {
          if (main.key[s]! > clock) clock = main.key[s]!
          remember(e, slots.count[s]!, false)
        }
      }
      slots.bits[s] = GONE
      slots.release(s)
    },
    chooseVictims(need, _now, evictable) {
      epoch++
      const out: Resident[] = []
      let freed = 0
      // Walk both queues without taking anything out: the cache may evict none of these.
      cursor = probation.tail
      probationLeft = probationBytes
      mainLeft = mainBytes
      main.beginWalk()
      while (freed < need) {
        const mainFirst = mainLeft > capacityBytes - target || probationLeft <= 0
        let v = mainFirst ? fromMain(evictable) : fromProbation(evictable)
        if (v < 0) v = mainFirst ? fromProbation(evictable) : fromMain(evictable)
        if (v < 0 && promoted.length > 0) {
          // Only models promoted during this call are left: let them into main and walk again
          // (victims already offered carry this epoch's mark and are skipped).
          flushPromoted()
          main.beginWalk()
          v = fromMain(evictable)
        }
        if (v < 0) break
        slots.mark[v] = epoch
        const e = slots.res[v]!
        out.push(e)
        freed += e.size
      }
      flushPromoted()
      return out
    }
  }
}

export const meshkitAdaptivePolicy = definePolicy({
  name: "meshkit-adaptive",
  family: "eviction",
  description:
    "meshkit's own: probation FIFO filters one-hit models, main queue by GDSF priority (frequency × load cost / size, aged), ghost ids adapt the split (ARC-style).",
  options: MeshkitAdaptiveOptions,
  make: (o, ctx: BuildContext) => meshkitAdaptive(o, ctx.capacityBytes ?? NaN)
})
