import { Schema } from "effect"
import { definePolicy, type BuildContext } from "../registry.js"
import type { ModelId, Resident } from "../domain.js"
import { DList, type Node } from "./dlist.js"
import { HeapNode, IndexedHeap } from "./heap.js"
import type { EvictionPolicy } from "./policy.js"

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

class AdaptiveNode extends HeapNode implements Node {
  prev: Node | null = null
  next: Node | null = null
  bits = 0
  queue = PROBATION
  /** the size counted in its queue's bytes (the cache may resize a resident without telling us) */
  bytes: number
  constructor(e: Resident) {
    super(e)
    this.bytes = e.size
  }
}

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

  const probation = new DList()
  let probationBytes = 0
  const main = new IndexedHeap()
  let mainBytes = 0
  let clock = 0
  let seq = 0
  let epoch = 1
  const promoted: AdaptiveNode[] = []
  const ghosts = new Map<ModelId, Ghost>()
  let ghostBytes = 0

  const refresh = (n: AdaptiveNode): void => {
    const e = n.e
    n.key = clock + (n.count * (uniform ? 1 : e.loadCostMs)) / Math.max(1, e.size)
    n.tie = seq++
  }

  const toMain = (n: AdaptiveNode): void => {
    n.queue = MAIN
    refresh(n)
    main.push(n)
    mainBytes += n.bytes
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

  const flushPromoted = (): void => {
    for (let i = 0; i < promoted.length; i++) toMain(promoted[i]!)
    promoted.length = 0
  }

  return {
    name: "meshkit-adaptive",
    onInsert(e) {
      epoch++
      const n = new AdaptiveNode(e)
      e.slot = n
      const g = ghosts.get(e.id)
      if (g === undefined) {
        n.count = 1
        probation.pushHead(n)
        probationBytes += n.bytes
        return
      }
      ghosts.delete(e.id)
      ghostBytes -= g.size
      n.count = g.freq + 1
      if (step > 0) target = g.fromProbation ? Math.min(maxTarget, target + g.size * step) : Math.max(minTarget, target - g.size * step)
      toMain(n)
    },
    onHit(e) {
      epoch++
      const n = e.slot as AdaptiveNode
      n.count++
      if (n.bytes !== e.size) {
        const delta = e.size - n.bytes
        if (n.queue === MAIN) mainBytes += delta
        else probationBytes += delta
        n.bytes = e.size
      }
      if (n.queue === MAIN) {
        refresh(n)
        main.update(n)
      }
    },
    onRemove(e) {
      const n = e.slot as AdaptiveNode
      const evicted = n.mark === epoch
      if (n.queue === PROBATION) {
        probation.unlink(n)
        probationBytes -= n.bytes
        if (evicted) remember(e, n.count, true)
      } else if (n.queue === MAIN) {
        main.remove(n)
        mainBytes -= n.bytes
        if (evicted) {
          if (n.key > clock) clock = n.key
          remember(e, n.count, false)
        }
      }
      n.queue = GONE
    },
    chooseVictims(need, _now, evictable) {
      epoch++
      const out: Resident[] = []
      let freed = 0
      // Walk both queues without taking anything out: the cache may evict none of these.
      let cursor = probation.tail as AdaptiveNode | null
      let probationLeft = probationBytes
      let mainLeft = mainBytes
      main.beginWalk()
      const fromProbation = (): AdaptiveNode | null => {
        while (cursor !== null) {
          const n = cursor
          cursor = n.prev as AdaptiveNode | null
          if (n.count >= promoteAt) {
            probation.unlink(n)
            probationBytes -= n.bytes
            probationLeft -= n.bytes
            mainLeft += n.bytes
            promoted.push(n)
          } else if (evictable(n.e)) {
            probationLeft -= n.bytes
            return n
          }
        }
        return null
      }
      const fromMain = (): AdaptiveNode | null => {
        for (let n = main.nextInWalk(); n !== null; n = main.nextInWalk()) {
          if (n.mark !== epoch && evictable(n.e)) {
            mainLeft -= (n as AdaptiveNode).bytes
            return n as AdaptiveNode
          }
        }
        return null
      }
      while (freed < need) {
        const mainFirst = mainLeft > capacityBytes - target || probationLeft <= 0
        let v = mainFirst ? (fromMain() ?? fromProbation()) : (fromProbation() ?? fromMain())
        if (v === null && promoted.length > 0) {
          // Only models promoted during this call are left: let them into main and walk again
          // (victims already offered carry this epoch's mark and are skipped).
          flushPromoted()
          main.beginWalk()
          v = fromMain()
        }
        if (v === null) break
        v.mark = epoch
        out.push(v.e)
        freed += v.e.size
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
