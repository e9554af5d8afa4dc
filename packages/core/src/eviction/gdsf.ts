import { Schema } from "effect"
import { definePolicy } from "../registry.js"
import type { Resident } from "../domain.js"
import { HeapNode, IndexedHeap } from "./heap.js"
import type { EvictionPolicy } from "./policy.js"

export const GdsfOptions = Schema.Struct({
  /**
   * What a miss costs: "load" = the model's loadCostMs (FaaSCache), "uniform" = 1 per miss
   * (minimises the request miss ratio: the classic web-cache GDSF), "bytes" = its size
   * (minimises the byte miss ratio).
   */
  cost: Schema.optionalWith(Schema.Literal("load", "uniform", "bytes"), { default: () => "load" as const })
})
export type GdsfOptions = typeof GdsfOptions.Type

/**
 * Greedy-Dual-Size-Frequency (Cherkasova '98; FaaSCache's keep-alive priority): each resident has
 * priority H = L + F × C / S (F = requests while resident, C = miss cost, S = size) and the lowest
 * H goes first. L, the "clock", becomes the H of each victim, so residents that stop being
 * requested age relative to newly admitted or refreshed ones. Ties → least recently refreshed.
 */
export const gdsf = (options: GdsfOptions = { cost: "load" }): EvictionPolicy => {
  const heap = new IndexedHeap()
  let clock = 0
  let seq = 0
  // Victims of the latest chooseVictims carry this mark; only their removal advances the clock
  // (a user unload or a candidate the cache did not evict must not). The cache removes victims
  // right after choosing them, so any later insert or hit closes the window.
  let epoch = 1
  const cost =
    options.cost === "uniform" ? () => 1 : options.cost === "bytes" ? (e: Resident) => e.size : (e: Resident) => e.loadCostMs
  const refresh = (n: HeapNode): void => {
    n.key = clock + (n.count * cost(n.e)) / Math.max(1, n.e.size)
    n.tie = seq++
  }
  return {
    name: "gdsf",
    onInsert(e) {
      const n = new HeapNode(e)
      n.count = 1
      e.slot = n
      epoch++
      refresh(n)
      heap.push(n)
    },
    onHit(e) {
      const n = e.slot as HeapNode
      n.count++
      epoch++
      refresh(n)
      heap.update(n)
    },
    onRemove(e) {
      const n = e.slot as HeapNode
      if (n.mark === epoch && n.key > clock) clock = n.key
      heap.remove(n)
    },
    chooseVictims(need, _now, evictable) {
      const out = heap.takeInOrder(need, evictable)
      epoch++
      for (let i = 0; i < out.length; i++) (out[i]!.slot as HeapNode).mark = epoch
      return out
    }
  }
}

export const gdsfPolicy = definePolicy({
  name: "gdsf",
  family: "eviction",
  description:
    "Greedy-Dual-Size-Frequency: evict the lowest H = L + hits × cost / size, L = H of the last victim (cost: load | uniform | bytes).",
  options: GdsfOptions,
  make: (o) => gdsf(o)
})
