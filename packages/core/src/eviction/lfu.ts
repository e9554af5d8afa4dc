import { definePolicy, NoOptions } from "../registry.js"
import type { Resident } from "../domain.js"
import { DList, type Node } from "./dlist.js"
import type { EvictionPolicy } from "./policy.js"

/** All residents with one request count, most recently promoted at the list head. */
class Bucket {
  readonly list = new DList()
  prev: Bucket | null = null
  next: Bucket | null = null
  constructor(public freq: number) {}
}

interface LfuNode extends Node {
  bucket: Bucket
}

/**
 * Least frequently used (in-cache frequency: requests since admission), ties → least recently
 * used. The O(1) construction: a list of frequency buckets in increasing order, each a list of
 * residents; a hit moves a resident to the bucket of the next frequency, at its head, so each
 * bucket's tail is its least recently used member. Emptied buckets are recycled.
 */
export const lfu = (): EvictionPolicy => {
  let lowest: Bucket | null = null
  const spare: Bucket[] = []

  const bucketAfter = (b: Bucket | null, freq: number): Bucket => {
    const next = b === null ? lowest : b.next
    if (next !== null && next.freq === freq) return next
    const nb = spare.pop() ?? new Bucket(freq)
    nb.freq = freq
    nb.prev = b
    nb.next = next
    if (next !== null) next.prev = nb
    if (b !== null) b.next = nb
    else lowest = nb
    return nb
  }

  const detach = (n: LfuNode): void => {
    const b = n.bucket
    b.list.unlink(n)
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
      const b = bucketAfter(null, 1)
      const n: LfuNode = { e, prev: null, next: null, bits: 0, bucket: b }
      e.slot = n
      b.list.pushHead(n)
    },
    onHit(e) {
      const n = e.slot as LfuNode
      const from = n.bucket
      // Link the target before detaching, so `from` still anchors its position when it empties.
      const to = bucketAfter(from, from.freq + 1)
      detach(n)
      n.bucket = to
      to.list.pushHead(n)
    },
    onRemove(e) {
      detach(e.slot as LfuNode)
    },
    chooseVictims(need, _now, evictable) {
      const out: Resident[] = []
      let freed = 0
      for (let b = lowest; b !== null && freed < need; b = b.next) {
        for (let n = b.list.tail; n !== null && freed < need; n = n.prev) {
          if (evictable(n.e)) {
            out.push(n.e)
            freed += n.e.size
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
