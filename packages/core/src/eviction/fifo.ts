import { definePolicy, NoOptions } from "../registry.js"
import type { EvictionPolicy } from "./policy.js"
import { SlotQueue, Slots } from "./slots.js"

/** First in, first out: hits do not change the order. */
export const fifo = (): EvictionPolicy => {
  const slots = new Slots()
  const list = new SlotQueue(slots)
  return {
    name: "fifo",
    onInsert(e) {
      list.pushHead(slots.alloc(e))
    },
    onHit() {},
    onRemove(e) {
      const s = e.slot as number
      list.unlink(s)
      slots.release(s)
    },
    chooseVictims(need, _now, evictable) {
      return list.takeFromTail(need, evictable)
    }
  }
}

export const fifoPolicy = definePolicy({
  name: "fifo",
  family: "eviction",
  description: "First in, first out: the oldest admitted model goes first; hits do not count.",
  options: NoOptions,
  make: () => fifo()
})
