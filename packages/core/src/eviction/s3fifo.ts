import { Schema } from "effect"
import { definePolicy, type BuildContext } from "../registry.js"
import type { Resident } from "../domain.js"
import { DList, type Node } from "./dlist.js"
import type { EvictionPolicy } from "./policy.js"

export const S3FifoOptions = Schema.Struct({
  /** share of the byte capacity for the small (probation) queue */
  smallFraction: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThan(1)), { default: () => 0.1 }),
  /** ghost queue size (bytes of remembered ids) as a share of the capacity */
  ghostFraction: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(4)), { default: () => 0.9 }),
  /** hits needed in the small queue to be promoted to main instead of evicted */
  promoteAt: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 3)), { default: () => 2 })
})
export type S3FifoOptions = typeof S3FifoOptions.Type

const SMALL = 0
const MAIN = 1
/** offered as a victim and taken out of its queue, awaiting the cache's onRemove */
const CHOSEN_SMALL = 2
const CHOSEN_MAIN = 3
const GONE = 4

interface S3Node extends Node {
  queue: number
  freq: number
  /** the size counted in its queue's bytes (the cache may resize a resident without telling us) */
  bytes: number
}

/**
 * S3-FIFO (Yang et al., SOSP'23): a small FIFO (10 % of the bytes) filters one-hit wonders, a
 * main FIFO with CLOCK-style reinsertion keeps the rest, and a ghost FIFO of evicted ids (sized
 * like main, in bytes) sends returning models straight to main. Frequencies are capped at 3.
 *  - insert: to main if the id is in the ghost, else to small (frequency 0);
 *  - hit: frequency + 1 (max 3);
 *  - evict: from main when it is over its share or small is empty, else from small. Small's tail
 *    moves to main when its frequency ≥ promoteAt (reset to 0 there), otherwise it is evicted
 *    into the ghost; main's tail with frequency f > 0 goes back to the head with f − 1, else out.
 * Busy (non-evictable) tails go back to the head of their queue, keeping their frequency.
 * Victims are taken out of their queue while choosing; any the cache does not evict go back
 * to the tail they came from before the next operation.
 */
export const s3fifo = (options: S3FifoOptions, capacityBytes: number): EvictionPolicy => {
  if (!(capacityBytes > 0)) throw new RangeError(`s3fifo needs the cache capacity in bytes, got ${capacityBytes}`)
  const smallCap = capacityBytes * options.smallFraction
  const mainCap = capacityBytes - smallCap
  const ghostCap = capacityBytes * options.ghostFraction
  const promoteAt = options.promoteAt
  const small = new DList()
  const main = new DList()
  let smallBytes = 0
  let mainBytes = 0
  /** insertion-ordered: the first key is the oldest ghost */
  const ghost = new Map<string, number>()
  let ghostBytes = 0
  const chosen: S3Node[] = []

  const toGhost = (e: Resident): void => {
    ghost.set(e.id, e.size)
    ghostBytes += e.size
    while (ghostBytes > ghostCap && ghost.size > 0) {
      const [id, size] = ghost.entries().next().value as [string, number]
      ghost.delete(id)
      ghostBytes -= size
    }
  }

  /** A resident was resized since it was counted: move its queue's byte count along. */
  const resync = (n: S3Node): void => {
    const delta = n.e.size - n.bytes
    if (n.queue === SMALL) smallBytes += delta
    else if (n.queue === MAIN) mainBytes += delta
    n.bytes = n.e.size
  }

  const restoreChosen = (): void => {
    for (let i = chosen.length - 1; i >= 0; i--) {
      const n = chosen[i]!
      if (n.queue === CHOSEN_SMALL) {
        n.queue = SMALL
        small.pushTail(n)
        smallBytes += n.bytes
      } else if (n.queue === CHOSEN_MAIN) {
        n.queue = MAIN
        main.pushTail(n)
        mainBytes += n.bytes
      }
    }
    chosen.length = 0
  }

  const choose = (n: S3Node, from: number): void => {
    if (from === SMALL) {
      small.unlink(n)
      smallBytes -= n.bytes
      n.queue = CHOSEN_SMALL
    } else {
      main.unlink(n)
      mainBytes -= n.bytes
      n.queue = CHOSEN_MAIN
    }
    chosen.push(n)
  }

  /** One eviction step from small; returns the victim or null if small has none to give. */
  const evictSmall = (evictable: (e: Resident) => boolean): S3Node | null => {
    for (let budget = small.size; budget > 0; budget--) {
      const n = small.tail as S3Node | null
      if (n === null) return null
      if (n.freq >= promoteAt) {
        small.unlink(n)
        smallBytes -= n.bytes
        n.queue = MAIN
        n.freq = 0
        main.pushHead(n)
        mainBytes += n.bytes
      } else if (!evictable(n.e)) {
        small.moveToHead(n)
      } else {
        choose(n, SMALL)
        return n
      }
    }
    return null
  }

  const evictMain = (evictable: (e: Resident) => boolean): S3Node | null => {
    for (let budget = 4 * main.size; budget > 0; budget--) {
      const n = main.tail as S3Node | null
      if (n === null) return null
      if (!evictable(n.e)) main.moveToHead(n)
      else if (n.freq > 0) {
        n.freq--
        main.moveToHead(n)
      } else {
        choose(n, MAIN)
        return n
      }
    }
    return null
  }

  return {
    name: "s3fifo",
    onInsert(e) {
      if (chosen.length > 0) restoreChosen()
      const n: S3Node = { e, prev: null, next: null, bits: 0, queue: SMALL, freq: 0, bytes: e.size }
      e.slot = n
      const g = ghost.get(e.id)
      if (g !== undefined) {
        ghost.delete(e.id)
        ghostBytes -= g
        n.queue = MAIN
        main.pushHead(n)
        mainBytes += n.bytes
      } else {
        small.pushHead(n)
        smallBytes += n.bytes
      }
    },
    onHit(e) {
      if (chosen.length > 0) restoreChosen()
      const n = e.slot as S3Node
      if (n.freq < 3) n.freq++
      if (n.bytes !== e.size) resync(n)
    },
    onRemove(e) {
      const n = e.slot as S3Node
      switch (n.queue) {
        case SMALL:
          small.unlink(n)
          smallBytes -= n.bytes
          break
        case MAIN:
          main.unlink(n)
          mainBytes -= n.bytes
          break
        case CHOSEN_SMALL:
          toGhost(e)
          break
      }
      n.queue = GONE
    },
    chooseVictims(need, _now, evictable) {
      if (chosen.length > 0) restoreChosen()
      const out: Resident[] = []
      let freed = 0
      while (freed < need) {
        const fromMain = mainBytes > mainCap || smallBytes === 0
        const v = fromMain
          ? (evictMain(evictable) ?? evictSmall(evictable))
          : (evictSmall(evictable) ?? evictMain(evictable))
        if (v === null) break
        out.push(v.e)
        freed += v.e.size
      }
      // Not enough: the cache will evict none of them, so put them back now.
      if (freed < need) restoreChosen()
      return out
    }
  }
}

export const s3fifoPolicy = definePolicy({
  name: "s3fifo",
  family: "eviction",
  description: "S3-FIFO: small probation FIFO (10% of bytes) + main FIFO with reinsertion + ghost FIFO of evicted ids; freq capped at 3.",
  options: S3FifoOptions,
  make: (o, ctx: BuildContext) => s3fifo(o, ctx.capacityBytes ?? NaN)
})
