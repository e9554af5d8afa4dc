import { definePolicy, NoOptions } from "../registry.js"
import type { Resident } from "../domain.js"
import { SlotHeap } from "./heap.js"
import type { EvictionPolicy } from "./policy.js"
import { Slots } from "./slots.js"

/**
 * Belady's MIN (offline): evict the resident whose next request is farthest in the future,
 * never-again (Infinity) first. Optimal for equal sizes; with sizes it is a reference point, not
 * an optimum. Reads `Resident.nextUse`, which the simulator sets before each onInsert/onHit.
 * A max-heap on nextUse (stored negated in the min-heap); among equal nextUse the larger model
 * goes first (for never-again models this frees the space with fewer evictions).
 */
export const belady = (): EvictionPolicy => {
  const slots = new Slots()
  const heap = new SlotHeap(slots)
  const refresh = (s: number, e: Resident): void => {
    heap.key[s] = -e.nextUse
    heap.tie[s] = -e.size
  }
  return {
    name: "belady",
    offline: true,
    onInsert(e) {
      const s = slots.alloc(e)
      refresh(s, e)
      heap.push(s)
    },
    onHit(e) {
      const s = e.slot as number
      refresh(s, e)
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

export const beladyPolicy = definePolicy({
  name: "belady",
  family: "eviction",
  description: "Offline bound (simulator only): evict the model whose next request is farthest away (Belady's MIN).",
  options: NoOptions,
  offline: true,
  make: () => belady()
})
