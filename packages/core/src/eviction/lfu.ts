import { definePolicy, NoOptions } from "../registry.js"
import { SlotHeap } from "./heap.js"
import type { EvictionPolicy } from "./policy.js"
import { Slots } from "./slots.js"

/**
 * Least frequently used (in-cache frequency: requests since admission), ties → least recently
 * used. A heap keyed by (requests, time of the latest request as a sequence number): a hit
 * raises both, so the resident sinks in O(log n). (An O(1) frequency-bucket list was slower in
 * practice: every hit hopped through several bucket objects.)
 */
export const lfu = (): EvictionPolicy => {
  const slots = new Slots()
  const heap = new SlotHeap(slots)
  let seq = 0
  return {
    name: "lfu",
    onInsert(e) {
      const s = slots.alloc(e)
      heap.key[s] = 1
      heap.tie[s] = seq++
      heap.push(s)
    },
    onHit(e) {
      const s = e.slot as number
      heap.key[s] = heap.key[s]! + 1
      heap.tie[s] = seq++
      heap.update(s)
    },
    onRemove(e) {
      const s = e.slot as number
      heap.remove(s)
      slots.release(s)
    },
    chooseVictims(need, _now, evictable) {
      return heap.takeInOrder(need, evictable)
    }
  }
}

export const lfuPolicy = definePolicy({
  name: "lfu",
  family: "eviction",
  description: "Least frequently used (requests since admission); ties go to the least recently used.",
  options: NoOptions,
  make: () => lfu()
})
