import { Schema } from "effect"
import { definePolicy } from "../registry.js"
import type { Resident } from "../domain.js"
import { SlotHeap } from "../cache/heap.js"
import type { EvictionPolicy } from "./policy.js"
import { Slots } from "../cache/slots.js"

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
  const slots = new Slots()
  const heap = new SlotHeap(slots)
  let clock = 0
  let seq = 0
  // Victims of the latest chooseVictims carry this mark; only their removal advances the clock
  // (a user unload or a candidate the cache did not evict must not). The cache removes victims
  // right after choosing them, so any later insert or hit closes the window.
  let epoch = 1
  const costMode = options.cost
  const refresh = (s: number, e: Resident): void => {
    const c = costMode === "load" ? e.loadCostMs : costMode === "uniform" ? 1 : e.size
    heap.key[s] = clock + (slots.count[s]! * c) / Math.max(1, e.size)
    heap.tie[s] = seq++
  }
  return {
    name: "gdsf",
    onInsert(e) {
      epoch++
      const s = slots.alloc(e)
      slots.count[s] = 1
      refresh(s, e)
      heap.push(s)
    },
    onHit(e) {
      epoch++
      const s = e.slot as number
      slots.count[s] = slots.count[s]! + 1
      refresh(s, e)
      heap.update(s)
    },
    onRemove(e) {
      const s = e.slot as number
      if (slots.mark[s] === epoch && heap.key[s]! > clock) clock = heap.key[s]!
      heap.remove(s)
      slots.release(s)
    },
    chooseVictims(need, _now, evictable) {
      const out = heap.takeInOrder(need, evictable)
      epoch++
      for (let i = 0; i < out.length; i++) slots.mark[out[i]!.slot as number] = epoch
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
