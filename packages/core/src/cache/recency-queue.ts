import type { EvictionPolicy } from "../eviction/policy.js"
import { SlotQueue, Slots } from "./slots.js"

/**
 * The recency queue lru is made of, with its four ordering handlers. ttl reuses it and adds
 * keep-alive on top (its tail is also the longest idle), fifo leaves hits out, so the three
 * orders stay one piece of code.
 */
export const recencyQueue = () => {
  const slots = new Slots()
  const list = new SlotQueue(slots)
  const order: Pick<EvictionPolicy, "onInsert" | "onHit" | "onRemove" | "chooseVictims"> = {
    onInsert(e) {
      list.pushHead(slots.alloc(e))
    },
    onHit(e) {
      list.moveToHead(e.slot as number)
    },
    onRemove(e) {
      const s = e.slot as number
      list.unlink(s)
      slots.release(s)
    },
    chooseVictims(need, _now, evictable) {
      return list.takeFromTail(need, evictable)
    }
  }
  return { slots, list, order }
}

