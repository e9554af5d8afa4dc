import { definePolicy, NoOptions } from "../registry.js"
import { heapOrder } from "../cache/heap.js"
import type { EvictionPolicy } from "./policy.js"

/**
 * Belady's MIN (offline): evict the resident whose next request is farthest in the future,
 * never-again (Infinity) first. Optimal for equal sizes; with sizes it is a reference point, not
 * an optimum. Reads `Resident.nextUse`, which the simulator sets before each onInsert/onHit.
 * A max-heap on nextUse (stored negated in the min-heap); among equal nextUse the larger model
 * goes first (for never-again models this frees the space with fewer evictions).
 */
export const belady = (): EvictionPolicy => {
  const { order } = heapOrder((heap, s, e) => {
    heap.key[s] = -e.nextUse
    heap.tie[s] = -e.size
  })
  return { name: "belady", offline: true, ...order }
}

export const beladyPolicy = definePolicy({
  name: "belady",
  family: "eviction",
  description: "Offline bound (simulator only): evict the model whose next request is farthest away (Belady's MIN).",
  options: NoOptions,
  offline: true,
  make: () => belady()
})
