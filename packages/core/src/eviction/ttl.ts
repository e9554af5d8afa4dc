import { Schema } from "effect"
import { definePolicy } from "../registry.js"
import type { Resident } from "../domain.js"
import { isEvictable } from "../cache/model-cache.js"
import type { EvictionPolicy } from "./policy.js"
import { recencyQueue } from "../cache/recency-queue.js"

export const TtlOptions = Schema.Struct({
  /** idle time (ms since the last request) after which a model is unloaded */
  keepAliveMs: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 600_000 })
})
export type TtlOptions = typeof TtlOptions.Type

/**
 * Fixed keep-alive (the serverless default, e.g. 10 minutes): a model idle for keepAliveMs is
 * unloaded even without memory pressure; under pressure the least recently used goes first.
 * One LRU list serves both: its tail is the longest idle, so both questions are answered from
 * the tail. A due model that is busy stays until a later check after it becomes evictable.
 */
export const ttl = (options: TtlOptions): EvictionPolicy => {
  const keepAlive = options.keepAliveMs
  const { slots, list, order } = recencyQueue()
  /** the latest `now` given to expired(): due residents older than this are busy, not new */
  let checkedAt = -Infinity
  return {
    name: "ttl",
    ...order,
    expired(now) {
      if (now > checkedAt) checkedAt = now
      const out: Resident[] = []
      const { prev, res } = slots
      for (let s = list.tail; s >= 0 && now - res[s]!.lastUsed >= keepAlive; s = prev[s]!) {
        // Busy ones are skipped: a later check unloads them once idle and evictable.
        if (isEvictable(res[s]!)) out.push(res[s]!)
      }
      return out
    },
    nextExpiry() {
      // The first resident becoming due after the latest check (earlier ones were due but busy).
      const { prev, res } = slots
      for (let s = list.tail; s >= 0; s = prev[s]!) {
        const at = res[s]!.lastUsed + keepAlive
        if (at > checkedAt) return at
      }
      return Infinity
    }
  }
}

export const ttlPolicy = definePolicy({
  name: "ttl",
  family: "eviction",
  description: "Fixed keep-alive: unload a model idle for keepAliveMs (default 10 min); under memory pressure, least recently used first.",
  options: TtlOptions,
  make: (o) => ttl(o)
})
