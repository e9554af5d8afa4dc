import { Schema } from "effect"
import { definePolicy, type BuildContext } from "../registry.js"
import type { Resident } from "../domain.js"
import type { EvictionPolicy } from "./policy.js"
import { SlotQueue, Slots } from "../cache/slots.js"

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
  // per slot: bits = queue, count = frequency (0..3), bytes = size as counted in its queue (kept
  // in step by onResize)
  const slots = new Slots()
  const small = new SlotQueue(slots)
  const main = new SlotQueue(slots)
  let smallBytes = 0
  let mainBytes = 0
  /** insertion-ordered: the first key is the oldest ghost */
  const ghost = new Map<string, number>()
  let ghostBytes = 0
  const chosen: number[] = []

  const toGhost = (e: Resident): void => {
    ghost.set(e.id, e.size)
    ghostBytes += e.size
    while (ghostBytes > ghostCap && ghost.size > 0) {
      const [id, size] = ghost.entries().next().value as [string, number]
      ghost.delete(id)
      ghostBytes -= size
    }
  }


  const restoreChosen = (): void => {
    const { bits, bytes } = slots
    for (let i = chosen.length - 1; i >= 0; i--) {
      const s = chosen[i]!
      if (bits[s] === CHOSEN_SMALL) {
        bits[s] = SMALL
        small.pushTail(s)
        smallBytes += bytes[s]!
      } else if (bits[s] === CHOSEN_MAIN) {
        bits[s] = MAIN
        main.pushTail(s)
        mainBytes += bytes[s]!
      }
    }
    chosen.length = 0
  }

  const choose = (s: number, from: number): void => {
    if (from === SMALL) {
      small.unlink(s)
      smallBytes -= slots.bytes[s]!
      slots.bits[s] = CHOSEN_SMALL
    } else {
      main.unlink(s)
      mainBytes -= slots.bytes[s]!
      slots.bits[s] = CHOSEN_MAIN
    }
    chosen.push(s)
  }

  /** One eviction step from small; returns the victim's slot or -1 if small has none to give. */
  const evictSmall = (evictable: (e: Resident) => boolean): number => {
    const { count, bits, bytes, res } = slots
    for (let budget = small.size; budget > 0; budget--) {
      const s = small.tail
      if (s < 0) return -1
      if (count[s]! >= promoteAt) {
        small.unlink(s)
        smallBytes -= bytes[s]!
        bits[s] = MAIN
        count[s] = 0
        main.pushHead(s)
        mainBytes += bytes[s]!
      } else if (!evictable(res[s]!)) {
        small.moveToHead(s)
      } else {
        choose(s, SMALL)
        return s
      }
    }
    return -1
  }

  const evictMain = (evictable: (e: Resident) => boolean): number => {
    const { count, res } = slots
    for (let budget = 4 * main.size; budget > 0; budget--) {
      const s = main.tail
      if (s < 0) return -1
      if (!evictable(res[s]!)) main.moveToHead(s)
      else if (count[s]! > 0) {
        count[s] = count[s]! - 1
        main.moveToHead(s)
      } else {
        choose(s, MAIN)
        return s
      }
    }
    return -1
  }

  return {
    name: "s3fifo",
    onInsert(e) {
      if (chosen.length > 0) restoreChosen()
      const s = slots.alloc(e)
      const g = ghost.get(e.id)
      if (g !== undefined) {
        ghost.delete(e.id)
        ghostBytes -= g
        slots.bits[s] = MAIN
        main.pushHead(s)
        mainBytes += e.size
      } else {
        slots.bits[s] = SMALL
        small.pushHead(s)
        smallBytes += e.size
      }
    },
    onHit(e) {
      if (chosen.length > 0) restoreChosen()
      const s = e.slot as number
      const count = slots.count
      if (count[s]! < 3) count[s] = count[s]! + 1
    },
    onResize(e) {
      // Move its queue's byte count along (a chosen victim is in no queue: restoring it adds
      // bytes[s], so that must be the new size too).
      const s = e.slot as number
      const delta = e.size - slots.bytes[s]!
      if (slots.bits[s] === SMALL) smallBytes += delta
      else if (slots.bits[s] === MAIN) mainBytes += delta
      slots.bytes[s] = e.size
    },
    onRemove(e) {
      const s = e.slot as number
      switch (slots.bits[s]) {
        case SMALL:
          small.unlink(s)
          smallBytes -= slots.bytes[s]!
          break
        case MAIN:
          main.unlink(s)
          mainBytes -= slots.bytes[s]!
          break
        case CHOSEN_SMALL:
          toGhost(e)
          break
      }
      slots.bits[s] = GONE
      slots.release(s)
    },
    chooseVictims(need, _now, evictable) {
      if (chosen.length > 0) restoreChosen()
      const out: Resident[] = []
      let freed = 0
      while (freed < need) {
        const fromMain = mainBytes > mainCap || smallBytes === 0
        let s = fromMain ? evictMain(evictable) : evictSmall(evictable)
        if (s < 0) s = fromMain ? evictSmall(evictable) : evictMain(evictable)
        if (s < 0) break
        out.push(slots.res[s]!)
        freed += slots.res[s]!.size
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
