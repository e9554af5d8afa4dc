import { definePolicy, NoOptions } from "../registry.js"
import type { Resident } from "../domain.js"
import type { EvictionPolicy } from "./policy.js"

interface Slot {
  idx: number
}

/**
 * Size-aware Belady (offline), the variant used as "Belady-Size" by LRB (Song et al., NSDI'20)
 * and libCacheSim: evict the resident with the largest size × (nextUse − now), i.e. the one
 * holding the most byte-time until it is needed again; never-again models first, largest first.
 * The score of every resident changes with `now` at a different rate (its size), so no static
 * order exists: each eviction scans all residents (an exact bound, not a sampled one). Fine for
 * the simulator's offline runs; not meant for the hot path of a server.
 */
export const beladySize = (): EvictionPolicy => {
  const residents: Resident[] = []
  let scores = new Float64Array(64)
  const order: number[] = []

  const scoreOf = (e: Resident, now: number): number => (e.nextUse === Infinity ? Infinity : e.size * (e.nextUse - now))
  /** true when resident i should go before resident j */
  const worse = (i: number, j: number): boolean =>
    scores[i]! > scores[j]! || (scores[i] === scores[j] && residents[i]!.size > residents[j]!.size)

  return {
    name: "belady-size",
    offline: true,
    onInsert(e) {
      e.slot = { idx: residents.length } satisfies Slot
      residents.push(e)
    },
    onHit() {},
    onRemove(e) {
      const s = e.slot as Slot
      const last = residents.pop()!
      if (last !== e) {
        residents[s.idx] = last
        ;(last.slot as Slot).idx = s.idx
      }
      s.idx = -1
    },
    chooseVictims(need, now, evictable) {
      const n = residents.length
      if (scores.length < n) scores = new Float64Array(Math.max(n, scores.length * 2))
      order.length = 0
      let best = -1
      for (let i = 0; i < n; i++) {
        const e = residents[i]!
        if (!evictable(e)) continue
        scores[i] = scoreOf(e, now)
        order.push(i)
        if (best < 0 || worse(i, best)) best = i
      }
      const out: Resident[] = []
      if (best < 0) return out
      out.push(residents[best]!)
      if (residents[best]!.size >= need) return out
      // More than one victim needed (rarer): rank all candidates.
      order.sort((i, j) => (worse(i, j) ? -1 : worse(j, i) ? 1 : i - j))
      out.length = 0
      let freed = 0
      for (let k = 0; k < order.length && freed < need; k++) {
        const e = residents[order[k]!]!
        out.push(e)
        freed += e.size
      }
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
