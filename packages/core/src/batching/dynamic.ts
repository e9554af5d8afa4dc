import { Schema } from "effect"
import { definePolicy } from "../registry.js"
import type { BatchingPolicy } from "./policy.js"

export const DynamicBatchingOptions = Schema.Struct({
  /** rows merged into one run at most */
  maxBatchSize: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 1_000_000)), { default: () => 32 }),
  /** how long (ms) the oldest waiting request may wait for others to join it; 0 = never wait */
  maxBatchDelayMs: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 60_000)), { default: () => 0 }),
  /** batch sizes to prefer: a run starts as soon as the waiting rows reach one of them */
  preferredBatchSizes: Schema.optionalWith(Schema.Array(Schema.Int.pipe(Schema.between(1, 1_000_000))), { default: () => [] }),
  /** runs of one model at once; while they are all busy, arrivals queue and join the next run */
  maxConcurrentBatches: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 1024)), { default: () => 1 })
})
export type DynamicBatchingOptions = typeof DynamicBatchingOptions.Type

/**
 * Triton's dynamic batcher, made explicit. Requests queue while the model's runs are busy, so
 * under load batches form on their own without adding latency (the queue would have waited
 * anyway); at low load a request runs at once unless `maxBatchDelayMs` asks it to wait for
 * company. A run starts when a slot is free and any of: the waiting rows reach maxBatchSize or a
 * preferred size, or the oldest request has waited maxBatchDelayMs. It then takes up to
 * maxBatchSize rows — or, when preferred sizes are given and the delay has not run out, the
 * largest preferred size the waiting rows reach.
 */
export const dynamicBatching = (o: DynamicBatchingOptions): BatchingPolicy => {
  const maxRows = o.maxBatchSize
  const delay = o.maxBatchDelayMs
  const slots = o.maxConcurrentBatches
  // Largest first: the first one the waiting rows reach is the one to run.
  const preferred = [...o.preferredBatchSizes].filter((s) => s <= maxRows).sort((a, b) => b - a)
  const preferredReached = (rows: number): number => {
    for (const p of preferred) if (rows >= p) return p
    return 0
  }
  return {
    name: "dynamic",
    maxRows,
    rowsToRun(q, now) {
      if (q.requests === 0 || q.running >= slots) return 0
      if (q.rows >= maxRows) return maxRows
      const expired = now - q.oldestArrival >= delay
      if (expired) return maxRows
      return preferredReached(q.rows)
    },
    nextDecisionAt(q) {
      return q.requests === 0 || q.running >= slots ? Infinity : q.oldestArrival + delay
    }
  }
}

export const dynamicBatchingPolicy = definePolicy({
  name: "dynamic",
  family: "batching",
  description: "Merge a model's queued requests into one run (Triton's dynamic batcher): max size, max delay, preferred sizes.",
  options: DynamicBatchingOptions,
  make: (o) => dynamicBatching(o)
})
