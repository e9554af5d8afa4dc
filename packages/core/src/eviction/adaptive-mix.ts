import { Schema } from "effect"
import type { ModelId, Resident } from "../domain.js"
import { SlotHeap } from "../cache/heap.js"
import type { EvictionPolicy } from "./policy.js"
import { SlotQueue, Slots } from "../cache/slots.js"

const Share = Schema.Number.pipe(Schema.between(0, 1))

export const AdaptiveMixOptions = Schema.Struct({
  /** initial share of the bytes for the probation queue (then learned, see adaptStep) */
  probation: Schema.optionalWith(Share, { default: () => 0.05 }),
  /** bounds of the adapted probation share */
  minProbation: Schema.optionalWith(Share, { default: () => 0.02 }),
  maxProbation: Schema.optionalWith(Share, { default: () => 0.5 }),
  /** remember evicted models (id, frequency) up to this share of the capacity in bytes */
  ghost: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 8)), { default: () => 1 }),
  /** requests needed during probation to be promoted instead of evicted */
  promoteAt: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 8)), { default: () => 2 }),
  /**
   * learning rate of the probation share (from ghost hits): each returning model moves the target
   * by this fraction of its size, up while probation's victims come back more often than main's,
   * down otherwise; 0 keeps the share fixed
   */
  adaptStep: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)), { default: () => 0.2 }),
  /** initial share of main's victims taken in recency (LRU) order; the rest in GDSF order */
  recency: Schema.optionalWith(Share, { default: () => 0.5 }),
  /**
   * learning rate of that share (from ghost hits): on each returning model, the order whose
   * victims come back more often (per victim) loses weight by a factor e^rate; 0 keeps it fixed
   */
  orderRate: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 4)), { default: () => 1 }),
  /** bounds of the learned recency share, so that either order can win back */
  minRecency: Schema.optionalWith(Share, { default: () => 0.02 }),
  maxRecency: Schema.optionalWith(Share, { default: () => 0.98 }),
  /** miss cost in the main queue's priority: the model's load time, or 1 (pure miss count) */
  cost: Schema.optionalWith(Schema.Literal("load", "uniform"), { default: () => "load" as const })
})
export type AdaptiveMixOptions = typeof AdaptiveMixOptions.Type

const PROBATION = 0
const MAIN = 1
const GONE = 2
const QUEUE = 3
/** flag on a main slot: offered as a victim by the recency order (valid while its mark is the epoch) */
const BY_RECENCY = 4

/** Where an evicted model was evicted from, i.e. which decision its return proves wrong. */
const FROM_PROBATION = 0
const FROM_RECENCY = 1
const FROM_FREQUENCY = 2

/** An evicted model remembered by id: how often it was used and what evicted it. */
interface Ghost {
  readonly size: number
  readonly freq: number
  readonly from: number
}

/** per victim: the mistake-rate counters forget with a half-life of ~700 victims */
const DECAY = 1 - 1 / 1024

/**
 * adaptive-mix: one of meshkit-adaptive's experts (./meshkit-adaptive.ts; it was meshkit-adaptive
 * itself before that became a leader-follower over experts), not a policy of its own in the catalogue.
 * S3-FIFO's probation in front of a main queue that mixes two orders, recency
 * (LRU) and cost-aware GDSF, with both splits learned from the ids of evicted models.
 *  - New models enter a probation FIFO; those requested `promoteAt` times before reaching its
 *    tail move to main, the others are evicted cheaply (one-hit wonders never disturb main).
 *  - Main keeps each model in an LRU list and in a GDSF heap, H = L + F × C / S (frequency, load
 *    cost, size; the clock L = H of the last GDSF victim ages models that stopped being used).
 *    A share `w` of main's victims comes from the LRU tail, the rest from the lowest H, spread
 *    evenly (a deterministic credit, not a coin).
 *  - Evicted models are remembered (id, frequency, who evicted them: probation, recency or GDSF)
 *    in a ghost queue; a returning model skips probation and keeps its frequency. Each evictor's
 *    mistake rate is the share of its recent victims that came back. On every return, probation
 *    grows (by `adaptStep` × the model's size) if its rate is above main's and shrinks otherwise,
 *    and the main order with the higher rate loses weight (× e^-orderRate, LeCaR-like). Rates per
 *    victim, not raw return counts: the order used more would otherwise look worse just for
 *    evicting more. Frequency-heavy traces (Azure) drift to GDSF; on/off bursts, whose frequent
 *    models go quiet, drift to recency.
 * Victims: from probation unless main is over its share (or probation has nothing to give).
 * Promotions found while choosing enter main after the walk (the heap must not change during
 * it); they become victims of that call only when nothing else is left. Every operation is
 * O(log n); a hit allocates nothing.
 */
export const adaptiveMix = (options: AdaptiveMixOptions, capacityBytes: number): EvictionPolicy => {
  if (!(capacityBytes > 0)) throw new RangeError(`adaptive-mix needs the cache capacity in bytes, got ${capacityBytes}`)
  const minTarget = capacityBytes * Math.min(options.minProbation, options.maxProbation)
  const maxTarget = capacityBytes * Math.max(options.minProbation, options.maxProbation)
  let target = Math.min(maxTarget, Math.max(minTarget, capacityBytes * options.probation))
  const ghostCap = capacityBytes * options.ghost
  /** maxProbation 0: no probation queue, new models enter main (a learned LRU/GDSF blend alone) */
  const noProbation = maxTarget === 0
  const { promoteAt } = options
  const step = options.adaptStep
  const uniform = options.cost === "uniform"
  const boost = Math.exp(options.orderRate)
  const learnOrder = options.orderRate > 0
  const MIN_RECENCY = Math.min(options.minRecency, options.maxRecency)
  const MAX_RECENCY = Math.max(options.minRecency, options.maxRecency)
  // recency share w = wR / (wR + wF); without learning the initial share is kept exactly
  let wR = learnOrder ? Math.min(MAX_RECENCY, Math.max(MIN_RECENCY, options.recency)) : options.recency
  let credit = 0

  // per slot: bits = queue (| BY_RECENCY), count = requests (frequency), bytes = size as counted,
  // mark = victim epoch; prev/next = probation FIFO or main LRU list (a slot is in one of them)
  const slots = new Slots()
  const probation = new SlotQueue(slots)
  let probationBytes = 0
  const main = new SlotHeap(slots)
  const mainLru = new SlotQueue(slots)
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
    mainLru.pushHead(s)
    mainBytes += slots.bytes[s]!
  }

  const flushPromoted = (): void => {
    for (let i = 0; i < promoted.length; i++) toMain(promoted[i]!)
    promoted.length = 0
  }

  const remember = (e: Resident, freq: number, from: number): void => {
    const old = ghosts.get(e.id)
    if (old !== undefined) {
      ghosts.delete(e.id)
      ghostBytes -= old.size
    }
    ghosts.set(e.id, { size: e.size, freq, from })
    ghostBytes += e.size
    while (ghostBytes > ghostCap && ghosts.size > 0) {
      const [id, g] = ghosts.entries().next().value as [ModelId, Ghost]
      ghosts.delete(id)
      ghostBytes -= g.size
    }
  }

  // Mistake rates of the three evictors: decayed counts of their victims and of those victims'
  // returns (the decay lets the splits follow a trace whose phase shifts).
  let evR = 0
  let evF = 0
  let backR = 0
  let backF = 0
  let evP = 0
  let backP = 0

  /** who evicted a model: FROM_PROBATION, FROM_RECENCY or FROM_FREQUENCY */
  const evictedBy = (from: number): void => {
    evR *= DECAY
    evF *= DECAY
    evP *= DECAY
    backR *= DECAY
    backF *= DECAY
    backP *= DECAY
    if (from === FROM_RECENCY) evR++
    else if (from === FROM_FREQUENCY) evF++
    else evP++
  }

  /** A ghost came back: its evictor was wrong once more; move both splits towards the better evictor. */
  const learn = (g: Ghost): void => {
    if (g.from === FROM_PROBATION) backP++
    else if (g.from === FROM_RECENCY) backR++
    else backF++
    if (step > 0) {
      // probation grows while its victims come back more often than main's, and shrinks otherwise
      const rateP = (backP + 1) / (evP + 2)
      const rateM = (backR + backF + 1) / (evR + evF + 2)
      if (rateP > rateM) target = Math.min(maxTarget, target + g.size * step)
      else if (rateP < rateM) target = Math.max(minTarget, target - g.size * step)
    }
    if (g.from === FROM_PROBATION) return
    if (!learnOrder) return
    // the order with the higher share of its victims coming back loses weight
    const rateR = (backR + 1) / (evR + 2)
    const rateF = (backF + 1) / (evF + 2)
    if (rateR === rateF) return
    const wF = 1 - wR
    wR = rateR > rateF ? wR / (wR + wF * boost) : (wR * boost) / (wR * boost + wF)
    wR = Math.min(MAX_RECENCY, Math.max(MIN_RECENCY, wR))
  }

  // State of one chooseVictims walk (kept out here so the walk allocates no closures).
  let cursor = -1
  let lruCursor = -1
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

  /** Next victim in main's GDSF order not yet offered in this call; -1 if none. */
  const byFrequency = (evictable: (e: Resident) => boolean): number => {
    const { bytes, mark, res } = slots
    for (let s = main.nextInWalk(); s >= 0; s = main.nextInWalk()) {
      if (mark[s] !== epoch && evictable(res[s]!)) {
        mainLeft -= bytes[s]!
        slots.bits[s] = MAIN
        return s
      }
    }
    return -1
  }

  /** Next victim from main's LRU tail not yet offered in this call; -1 if none. */
  const byRecency = (evictable: (e: Resident) => boolean): number => {
    const { prev, bytes, mark, res } = slots
    while (lruCursor >= 0) {
      const s = lruCursor
      lruCursor = prev[s]!
      if (mark[s] !== epoch && evictable(res[s]!)) {
        mainLeft -= bytes[s]!
        slots.bits[s] = MAIN | BY_RECENCY
        return s
      }
    }
    return -1
  }

  /** Next victim from main, in the order the credit picks (the other if that one has none). */
  const fromMain = (evictable: (e: Resident) => boolean): number => {
    credit += wR
    if (credit >= 1) {
      credit -= 1
      const s = byRecency(evictable)
      return s >= 0 ? s : byFrequency(evictable)
    }
    const s = byFrequency(evictable)
    return s >= 0 ? s : byRecency(evictable)
  }

  return {
    name: "adaptive-mix",
    onInsert(e) {
      epoch++
      const s = slots.alloc(e)
      const g = ghosts.get(e.id)
      if (g === undefined && noProbation) {
        slots.count[s] = 1
        toMain(s)
        return
      }
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
      learn(g)
      toMain(s)
    },
    onHit(e) {
      epoch++
      const s = e.slot as number
      slots.count[s] = slots.count[s]! + 1
      if ((slots.bits[s]! & QUEUE) === MAIN) {
        refresh(s, e)
        main.update(s)
        mainLru.moveToHead(s)
      }
    },
    onResize(e) {
      const s = e.slot as number
      const delta = e.size - slots.bytes[s]!
      const q = slots.bits[s]! & QUEUE
      if (q === MAIN) mainBytes += delta
      else if (q === PROBATION) probationBytes += delta
      slots.bytes[s] = e.size
    },
    onRemove(e) {
      const s = e.slot as number
      const evicted = slots.mark[s] === epoch
      const bits = slots.bits[s]!
      if ((bits & QUEUE) === PROBATION) {
        probation.unlink(s)
        probationBytes -= slots.bytes[s]!
        if (evicted) {
          remember(e, slots.count[s]!, FROM_PROBATION)
          evictedBy(FROM_PROBATION)
        }
      } else if ((bits & QUEUE) === MAIN) {
        main.remove(s)
        mainLru.unlink(s)
        mainBytes -= slots.bytes[s]!
        if (evicted) {
          const recency = (bits & BY_RECENCY) !== 0
          // the clock follows GDSF's own victims only: a recency victim's H says nothing about
          // how far the cheapest resident has aged
          if (!recency && main.key[s]! > clock) clock = main.key[s]!
          remember(e, slots.count[s]!, recency ? FROM_RECENCY : FROM_FREQUENCY)
          evictedBy(recency ? FROM_RECENCY : FROM_FREQUENCY)
        }
      }
      slots.bits[s] = GONE
      slots.release(s)
    },
    chooseVictims(need, _now, evictable) {
      epoch++
      const out: Resident[] = []
      let freed = 0
      // Walk the queues without taking anything out: the cache may evict none of these.
      cursor = probation.tail
      lruCursor = mainLru.tail
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
          lruCursor = mainLru.tail
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

/** the expert with its default options */
export const defaultAdaptiveMix = (capacityBytes: number): EvictionPolicy =>
  adaptiveMix(Schema.decodeSync(AdaptiveMixOptions)({}), capacityBytes)
