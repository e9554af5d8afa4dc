import { Schema } from "effect"
import { definePolicy, type BuildContext } from "../registry.js"
import type { ModelId, Resident } from "../domain.js"
import { DList, type Node } from "./dlist.js"
import { HeapNode, IndexedHeap } from "./heap.js"
import type { EvictionPolicy } from "./policy.js"

const Share = Schema.Number.pipe(Schema.between(0, 1))

export const MeshkitAdaptiveOptions = Schema.Struct({
  /** initial share of the bytes for the probation queue (adapted at run time when `adapt`) */
  probation: Schema.optionalWith(Share, { default: () => 0.1 }),
  /** bounds of the adapted probation share */
  minProbation: Schema.optionalWith(Share, { default: () => 0.01 }),
  maxProbation: Schema.optionalWith(Share, { default: () => 0.5 }),
  /** remember evicted models (id, frequency) up to this share of the capacity in bytes */
  ghost: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 8)), { default: () => 1 }),
  /** requests needed during probation to be promoted instead of evicted */
  promoteAt: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 8)), { default: () => 2 }),
  /** learn the probation share from ghost hits (ARC-style); false keeps it fixed */
  adapt: Schema.optionalWith(Schema.Boolean, { default: () => true }),
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
 *    probation was too short: its share grows by the model's size; one evicted from main means
 *    main was too small: probation shrinks. So the split follows the trace's current phase.
 * Victims: from probation unless main is over its share (or probation has nothing to give).
 * Promotions found while choosing enter main after the choice, never as victims of that call.
 */
export const meshkitAdaptive = (options: MeshkitAdaptiveOptions, capacityBytes: number): EvictionPolicy => {
  if (!(capacityBytes > 0)) throw new RangeError(`meshkit-adaptive needs the cache capacity in bytes, got ${capacityBytes}`)
  const minTarget = capacityBytes * Math.min(options.minProbation, options.maxProbation)
  const maxTarget = capacityBytes * Math.max(options.minProbation, options.maxProbation)
  let target = Math.min(maxTarget, Math.max(minTarget, capacityBytes * options.probation))
  const ghostCap = capacityBytes * options.ghost
  const { promoteAt, adapt } = options
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
    mainBytes += n.e.size
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
        probationBytes += e.size
        return
      }
      ghosts.delete(e.id)
      ghostBytes -= g.size
      n.count = g.freq + 1
      if (adapt) target = !g.fromProbation ? Math.min(maxTarget, target + g.size) : Math.max(minTarget, target - g.size)
      toMain(n)
    },
    onHit(e) {
      epoch++
      const n = e.slot as AdaptiveNode
      n.count++
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
        probationBytes -= e.size
        if (evicted) remember(e, n.count, true)
      } else if (n.queue === MAIN) {
        main.remove(n)
        mainBytes -= e.size
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
            probationBytes -= n.e.size
            probationLeft -= n.e.size
            mainLeft += n.e.size
            promoted.push(n)
          } else if (evictable(n.e)) {
            probationLeft -= n.e.size
            return n
          }
        }
        return null
      }
      const fromMain = (): AdaptiveNode | null => {
        for (let n = main.nextInWalk(); n !== null; n = main.nextInWalk()) {
          if (evictable(n.e)) {
            mainLeft -= n.e.size
            return n as AdaptiveNode
          }
        }
        return null
      }
      while (freed < need) {
        const mainFirst = mainLeft > capacityBytes - target || probationLeft <= 0
        const v = mainFirst ? (fromMain() ?? fromProbation()) : (fromProbation() ?? fromMain())
        if (v === null) break
        v.mark = epoch
        out.push(v.e)
        freed += v.e.size
      }
      for (let i = 0; i < promoted.length; i++) toMain(promoted[i]!)
      promoted.length = 0
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
