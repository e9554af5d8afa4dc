import { definePolicy, NoOptions } from "../registry.js"
import type { Resident } from "../domain.js"
import { DList, newNode, type Node } from "./dlist.js"
import type { EvictionPolicy } from "./policy.js"

/** First in, first out: hits do not change the order. */
export const fifo = (): EvictionPolicy => {
  const list = new DList()
  return {
    name: "fifo",
    onInsert(e) {
      const n = newNode(e)
      e.slot = n
      list.pushHead(n)
    },
    onHit() {},
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

export const fifoPolicy = definePolicy({
  name: "fifo",
  family: "eviction",
  description: "First in, first out: the oldest admitted model goes first; hits do not count.",
  options: NoOptions,
  make: () => fifo()
})
