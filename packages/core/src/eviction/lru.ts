import { recencyQueue } from "../cache/recency-queue.js"
import { definePolicy, NoOptions } from "../registry.js"
import type { EvictionPolicy } from "./policy.js"

/** kept here too: its home was this file before the cache/ primitives folder */
export { recencyQueue }

/**
 * Least recently used, ModelMesh's order: evict the smallest lastUsed first. With time moving
 * forward, "move to head on hit" keeps the list sorted by lastUsed, so every call is O(1).
 */
export const lru = (): EvictionPolicy => ({ name: "lru", ...recencyQueue().order })

export const lruPolicy = definePolicy({
  name: "lru",
  family: "eviction",
  description: "Least recently used first (ModelMesh's order by lastUsed).",
  options: NoOptions,
  make: () => lru()
})
