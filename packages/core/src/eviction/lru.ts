import { definePolicy, NoOptions } from "../registry.js"
import type { Resident } from "../domain.js"
import { DList, newNode, type Node } from "./dlist.js"
import type { EvictionPolicy } from "./policy.js"

/**
 * Least recently used, ModelMesh's order: evict the smallest lastUsed first. With time moving
 * forward, "move to head on hit" keeps the list sorted by lastUsed, so every call is O(1).
 */
export const lru = (): EvictionPolicy => {
  const list = new DList()
  return {
    name: "lru",
    onInsert(e) {
      const n = newNode(e)
      e.slot = n
      list.pushHead(n)
    },
    onHit(e) {
      list.moveToHead(e.slot as Node)
    },
    onRemove(e) {
      list.unlink(e.slot as Node)
    },
    chooseVictims(need, _now, evictable) {
      const out: Resident[] = []
      let freed = 0
      for (let n = list.tail; n !== null && freed < need; n = n.prev) {
        if (evictable(n.e)) {
          out.push(n.e)
          freed += n.e.size
        }
      }
      return out
    }
  }
}

export const lruPolicy = definePolicy({
  name: "lru",
  family: "eviction",
  description: "Least recently used first (ModelMesh's order by lastUsed).",
  options: NoOptions,
  make: () => lru()
})
