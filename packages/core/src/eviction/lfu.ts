import { definePolicy, NoOptions } from "../registry.js"
import { heapOrder } from "../cache/heap.js"
import type { EvictionPolicy } from "./policy.js"

/**
 * Least frequently used (in-cache frequency: requests since admission), ties → least recently
 * used. A heap keyed by (requests, time of the latest request as a sequence number): a hit
 * raises both, so the resident sinks in O(log n). (An O(1) frequency-bucket list was slower in
 * practice: every hit hopped through several bucket objects.)
 */
export const lfu = (): EvictionPolicy => {
  let seq = 0
  const { order } = heapOrder((heap, s, _e, inserted) => {
    heap.key[s] = inserted ? 1 : heap.key[s]! + 1
    heap.tie[s] = seq++
  })
  return { name: "lfu", ...order }
}

export const lfuPolicy = definePolicy({
  name: "lfu",
  family: "eviction",
  description: "Least frequently used (requests since admission); ties go to the least recently used.",
  options: NoOptions,
  make: () => lfu()
})
