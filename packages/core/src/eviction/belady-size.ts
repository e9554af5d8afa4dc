import { definePolicy, NoOptions } from "../registry.js"
import type { Resident } from "../domain.js"
import { SlotHeap } from "../cache/heap.js"
import type { EvictionPolicy } from "./policy.js"
import { Slots } from "../cache/slots.js"

/**
 * Size-aware Belady (offline), the variant used as "Belady-Size" by LRB (Song et al., NSDI'20)
 * and libCacheSim: evict the resident with the largest size × (nextUse − now), i.e. the one
 * holding the most byte-time until it is needed again; never-again models first, largest first.
 * Exact (every resident is considered), not the sampled approximation.
 *
 * The scores change with `now` at different rates (each model's size), so no static order
 * exists. The heap is keyed by size × (nextUse − base) for a base time; at `now` a resident's
 * score is that key minus size × (now − base) ≤ key − minSize × (now − base). Walking the heap
 * best-first with that bound finds the exact maximum after visiting a few residents; when the
 * bound gets loose (many visited), the keys are re-based to the current time (O(n)).
 */
export const beladySize = (): EvictionPolicy => {
  const slots = new Slots()
  // min-heap: key = −size × (nextUse − base), tie = −size (largest first among equals)
  const heap = new SlotHeap(slots)
  let base = 0
  let minSize = Infinity
  let rebaseDue = false
  // candidates met during a walk, a max-heap by exact score (then size, then slot)
  const cand: number[] = []
  const candScore: number[] = []

  const setKey = (s: number, e: Resident): void => {
    heap.key[s] = e.nextUse === Infinity ? -Infinity : -(e.size * (e.nextUse - base))
    heap.tie[s] = -e.size
  }
  const scoreOf = (e: Resident, now: number): number => (e.nextUse === Infinity ? Infinity : e.size * (e.nextUse - now))
  const above = (i: number, j: number): boolean => {
    if (candScore[i]! !== candScore[j]!) return candScore[i]! > candScore[j]!
    const si = slots.res[cand[i]!]!.size
    const sj = slots.res[cand[j]!]!.size
    return si !== sj ? si > sj : cand[i]! < cand[j]!
  }
  const swap = (i: number, j: number): void => {
    const s = cand[i]!
    cand[i] = cand[j]!
    cand[j] = s
    const c = candScore[i]!
    candScore[i] = candScore[j]!
    candScore[j] = c
  }
  const candPush = (s: number, score: number): void => {
    let i = cand.length
    cand.push(s)
    candScore.push(score)
    while (i > 0 && above(i, (i - 1) >> 1)) {
      swap(i, (i - 1) >> 1)
      i = (i - 1) >> 1
    }
  }
  const candPop = (): number => {
    const top = cand[0]!
    swap(0, cand.length - 1)
    cand.pop()
    candScore.pop()
    for (let i = 0; ; ) {
      const l = 2 * i + 1
      if (l >= cand.length) break
      const c = l + 1 < cand.length && above(l + 1, l) ? l + 1 : l
      if (!above(c, i)) break
      swap(c, i)
      i = c
    }
    return top
  }

  // Two loops in two functions, called from a loop-free one: a long loop gets optimised while it
  // runs (OSR), and code after it that has never run (no type feedback yet) was inlined blind
  // and deoptimised on every rebase (hundreds of times per second in bench:core).
  const rekeyAll = (): void => {
    for (let i = 0; i < heap.size; i++) {
      const s = heap.heap[i]!
      setKey(s, slots.res[s]!)
    }
  }
  const rebase = (now: number): void => {
    base = now
    rekeyAll()
    heap.rebuild()
  }

  return {
    name: "belady-size",
    offline: true,
    onInsert(e) {
      const s = slots.alloc(e)
      if (e.size < minSize) minSize = e.size
      setKey(s, e)
      heap.push(s)
    },
    onHit(e) {
      const s = e.slot as number
      if (e.size < minSize) minSize = e.size
      setKey(s, e)
      heap.update(s)
    },
    onRemove(e) {
      const s = e.slot as number
      heap.remove(s)
      slots.release(s)
    },
    chooseVictims(need, now, evictable) {
      if (rebaseDue || now < base) {
        rebase(now)
        rebaseDue = false
      }
      const slack = heap.size > 0 ? minSize * (now - base) : 0
      const res = slots.res
      const out: Resident[] = []
      let freed = 0
      let visited = 0
      cand.length = candScore.length = 0
      heap.beginWalk()
      let next = heap.nextInWalk()
      while (freed < need) {
        // Visit while an unvisited resident could still beat (or tie) the best candidate.
        while (next >= 0) {
          if (cand.length > 0) {
            const bound = -heap.key[next]! - slack
            const top = candScore[0]!
            if (bound < top || (bound === top && top === Infinity)) break
          }
          visited++
          const e = res[next]!
          if (evictable(e)) candPush(next, scoreOf(e, now))
          next = heap.nextInWalk()
        }
        if (cand.length === 0) break
        const v = res[candPop()]!
        out.push(v)
        freed += v.size
      }
      if (visited > 32 + 4 * out.length) rebaseDue = true
      return out
    }
  }
}

export const beladySizePolicy = definePolicy({
  name: "belady-size",
  family: "eviction",
  description: "Offline size-aware bound (simulator only): evict the largest size × (time until next request); never-again first.",
  options: NoOptions,
  offline: true,
  make: () => beladySize()
})
