import { definePolicy, NoOptions } from "../registry.js"
import type { Resident } from "../domain.js"
import type { EvictionPolicy } from "./policy.js"
import { SlotQueue, Slots } from "../cache/slots.js"

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
  const slots = new Slots()
  const list = new SlotQueue(slots)
  let hand = -1
  return {
    name: "sieve",
    onInsert(e) {
      list.pushHead(slots.alloc(e))
    },
    onHit(e) {
      slots.bits[e.slot as number] |= VISITED
    },
    onRemove(e) {
      const s = e.slot as number
      if (hand === s) hand = slots.prev[s]!
      list.unlink(s)
      slots.release(s)
    },
    chooseVictims(need, _now, evictable) {
      const out: Resident[] = []
      const { prev, bits, res } = slots
      let freed = 0
      let s = hand >= 0 ? hand : list.tail
      // Two laps clear every visited bit; a third can only meet busy or already-chosen entries.
      let budget = 2 * list.size + 1
      while (s >= 0 && freed < need && budget-- > 0) {
        const p = prev[s]!
        const next = p >= 0 ? p : list.tail
        if ((bits[s]! & CHOSEN) === 0 && evictable(res[s]!)) {
          if ((bits[s]! & VISITED) !== 0) bits[s] = bits[s]! & ~VISITED
          else {
            bits[s] = bits[s]! | CHOSEN
            out.push(res[s]!)
            freed += res[s]!.size
            hand = p
          }
        }
        s = next
      }
      for (let i = 0; i < out.length; i++) bits[out[i]!.slot as number] = bits[out[i]!.slot as number]! & ~CHOSEN
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
