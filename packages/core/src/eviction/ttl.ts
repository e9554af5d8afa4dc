import { Schema } from "effect"
import { definePolicy } from "../registry.js"
import type { Resident } from "../domain.js"
import { isEvictable } from "./cache.js"
import { DList, newNode, type Node } from "./dlist.js"
import type { EvictionPolicy } from "./policy.js"

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
  const list = new DList()
  /** the latest `now` given to expired(): due residents older than this are busy, not new */
  let checkedAt = -Infinity
  return {
    name: "ttl",
    onInsert(e) {
      const n = newNode(e)
      e.slot = n
      list.pushHead(n)
    },
    onHit(e) {
      list.moveToHead(e.slot as Node)
    },
    onRemove(e) {
      list.unlink(e.slot as Node)
    },
    chooseVictims(need, _now, evictable) {
      const out: Resident[] = []
      let freed = 0
      for (let n = list.tail; n !== null && freed < need; n = n.prev) {
        if (evictable(n.e)) {
          out.push(n.e)
          freed += n.e.size
        }
      }
      return out
    },
    expired(now) {
      if (now > checkedAt) checkedAt = now
      const out: Resident[] = []
      for (let n = list.tail; n !== null && now - n.e.lastUsed >= keepAlive; n = n.prev) {
        // Busy ones are skipped: a later check unloads them once idle and evictable.
        if (isEvictable(n.e)) out.push(n.e)
      }
      return out
    },
    nextExpiry() {
      // The first resident becoming due after the latest check (earlier ones were due but busy).
      for (let n = list.tail; n !== null; n = n.prev) {
        const at = n.e.lastUsed + keepAlive
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
