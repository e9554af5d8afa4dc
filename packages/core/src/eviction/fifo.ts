import { definePolicy, NoOptions } from "../registry.js"
import { recencyQueue } from "../cache/recency-queue.js"
import type { EvictionPolicy } from "./policy.js"

/** First in, first out: lru's queue with hits left out of the order. */
export const fifo = (): EvictionPolicy => ({ name: "fifo", ...recencyQueue().order, onHit() {} })

export const fifoPolicy = definePolicy({
  name: "fifo",
  family: "eviction",
  description: "First in, first out: the oldest admitted model goes first; hits do not count.",
  options: NoOptions,
  make: () => fifo()
})
