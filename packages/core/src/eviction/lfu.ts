import { definePolicy, NoOptions } from "../registry.js"
import type { Resident } from "../domain.js"
import type { EvictionPolicy } from "./policy.js"
import { SlotQueue, Slots } from "./slots.js"

/** All residents with one request count, most recently promoted at the list head. */
class Bucket {
  readonly list: SlotQueue
  prev: Bucket | null = null
  next: Bucket | null = null
  constructor(
    slots: Slots,
    public freq: number
  ) {
    this.list = new SlotQueue(slots)
  }
}

/**
 * Least frequently used (in-cache frequency: requests since admission), ties → least recently
 * used. The O(1) construction: a list of frequency buckets in increasing order, each a list of
 * residents; a hit moves a resident to the bucket of the next frequency, at its head, so each
 * bucket's tail is its least recently used member. Emptied buckets are recycled.
 */
export const lfu = (): EvictionPolicy => {
  const slots = new Slots()
  /** slot → its bucket */
  const bucketOf: (Bucket | undefined)[] = []
  let lowest: Bucket | null = null
  const spare: Bucket[] = []

  const bucketAfter = (b: Bucket | null, freq: number): Bucket => {
    const next = b === null ? lowest : b.next
    if (next !== null && next.freq === freq) return next
    const nb = spare.pop() ?? new Bucket(slots, freq)
    nb.freq = freq
    nb.prev = b
    nb.next = next
    if (next !== null) next.prev = nb
    if (b !== null) b.next = nb
    else lowest = nb
    return nb
  }

  const detach = (s: number, b: Bucket): void => {
    b.list.unlink(s)
    if (b.list.size > 0) return
    if (b.prev !== null) b.prev.next = b.next
    else lowest = b.next
    if (b.next !== null) b.next.prev = b.prev
    b.prev = b.next = null
    spare.push(b)
  }

  return {
    name: "lfu",
    onInsert(e) {
      const s = slots.alloc(e)
      const b = bucketAfter(null, 1)
      bucketOf[s] = b
      b.list.pushHead(s)
    },
    onHit(e) {
      const s = e.slot as number
      const from = bucketOf[s]!
      // Link the target before detaching, so `from` still anchors its position when it empties.
      const to = bucketAfter(from, from.freq + 1)
      detach(s, from)
      bucketOf[s] = to
      to.list.pushHead(s)
    },
    onRemove(e) {
      const s = e.slot as number
      detach(s, bucketOf[s]!)
      bucketOf[s] = undefined
      slots.release(s)
    },
    chooseVictims(need, _now, evictable) {
      const out: Resident[] = []
      const { prev, res } = slots
      let freed = 0
      for (let b = lowest; b !== null && freed < need; b = b.next) {
        for (let s = b.list.tail; s >= 0 && freed < need; s = prev[s]!) {
          const e = res[s]!
          if (evictable(e)) {
            out.push(e)
            freed += e.size
          }
        }
      }
      return out
    }
  }
}

export const lfuPolicy = definePolicy({
  name: "lfu",
  family: "eviction",
  description: "Least frequently used (requests since admission); ties go to the least recently used. O(1) buckets.",
  options: NoOptions,
  make: () => lfu()
})
