import { definePolicy, NoOptions } from "../registry.js"
import type { Resident } from "../domain.js"
import { DList, newNode, type Node } from "./dlist.js"
import type { EvictionPolicy } from "./policy.js"

const VISITED = 1
/** chosen in the current chooseVictims call (so a second lap does not pick it twice) */
const CHOSEN = 2

/**
 * SIEVE (Zhang et al., NSDI'24): a FIFO queue whose entries carry a visited bit set on hit, and
 * a hand that sweeps from the oldest entry towards the newest. A visited entry under the hand is
 * spared (bit cleared), the first unvisited one is evicted and the hand stays where it was.
 * Entries are never moved, so a hit is a single bit write. Busy entries (not evictable) are
 * passed over with their bit intact. If the cache evicts fewer candidates than offered, the
 * others simply stay where the hand left them: a state SIEVE itself could have reached.
 */
export const sieve = (): EvictionPolicy => {
  const list = new DList()
  let hand: Node | null = null
  return {
    name: "sieve",
    onInsert(e) {
      const n = newNode(e)
      e.slot = n
      list.pushHead(n)
    },
    onHit(e) {
      ;(e.slot as Node).bits |= VISITED
    },
    onRemove(e) {
      const n = e.slot as Node
      if (hand === n) hand = n.prev
      list.unlink(n)
    },
    chooseVictims(need, _now, evictable) {
      const out: Resident[] = []
      let freed = 0
      let n = hand ?? list.tail
      // Two laps clear every visited bit; a third can only meet busy or already-chosen entries.
      let budget = 2 * list.size + 1
      while (n !== null && freed < need && budget-- > 0) {
        const next: Node | null = n.prev ?? list.tail
        if ((n.bits & CHOSEN) === 0 && evictable(n.e)) {
          if ((n.bits & VISITED) !== 0) n.bits &= ~VISITED
          else {
            n.bits |= CHOSEN
            out.push(n.e)
            freed += n.e.size
            hand = n.prev
          }
        }
        n = next
      }
      for (let i = 0; i < out.length; i++) (out[i]!.slot as Node).bits &= ~CHOSEN
      return out
    }
  }
}

export const sievePolicy = definePolicy({
  name: "sieve",
  family: "eviction",
  description: "SIEVE: FIFO queue + visited bit; a hand sweeps from oldest to newest, sparing (and clearing) visited entries.",
  options: NoOptions,
  make: () => sieve()
})
