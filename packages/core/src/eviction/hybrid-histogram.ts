import { Schema } from "effect"
import { definePolicy } from "../registry.js"
import type { ModelId, Resident } from "../domain.js"
import { isEvictable } from "./cache.js"
import { DList, type Node } from "./dlist.js"
import { HeapNode, IndexedHeap } from "./heap.js"
import type { EvictionPolicy } from "./policy.js"

const Positive = Schema.Number.pipe(Schema.positive())

export const HybridHistogramOptions = Schema.Struct({
  /** histogram bin width (the paper: 1 minute) */
  binMs: Schema.optionalWith(Positive, { default: () => 60_000 }),
  /** histogram range; longer idle times count as out of range (the paper: 4 hours) */
  rangeMs: Schema.optionalWith(Positive, { default: () => 4 * 3_600_000 }),
  /** keep alive until this percentile of the idle-time distribution */
  percentile: Schema.optionalWith(Schema.Number.pipe(Schema.between(0.5, 1)), { default: () => 0.99 }),
  /** safety margin added to the percentile */
  margin: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 10)), { default: () => 0.1 }),
  /** fewer idle-time samples than this: the histogram is not representative yet */
  minSamples: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 10 }),
  /** a larger share of out-of-range idle times: not representative either */
  maxOutOfRange: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)), { default: () => 0.5 }),
  /** the fixed keep-alive used while the histogram is not representative */
  fallbackKeepAliveMs: Schema.optionalWith(Positive, { default: () => 600_000 })
})
export type HybridHistogramOptions = typeof HybridHistogramOptions.Type

/** What the policy remembers about a model, resident or not (one per model id ever seen). */
class History {
  readonly bins: Uint32Array
  inRange = 0
  outOfRange = 0
  lastRequest = -Infinity
  keepAliveMs: number
  constructor(binCount: number, fallback: number) {
    this.bins = new Uint32Array(binCount)
    this.keepAliveMs = fallback
  }
}

/** In the deadline heap (for expiry) and in the recency list (for memory pressure). */
class HybridNode extends HeapNode implements Node {
  prev: Node | null = null
  next: Node | null = null
  bits = 0
  constructor(
    e: Resident,
    readonly history: History
  ) {
    super(e)
  }
}

/**
 * Hybrid histogram keep-alive (Shahrad et al., "Serverless in the Wild", ATC'20), without the
 * pre-warming half and without the ARIMA path for out-of-range models (both fall back to the
 * fixed keep-alive). Per model id, a histogram of idle times (one sample per minute in which the
 * model is requested, as in the per-minute trace the paper fits: the time since its previous
 * request, which after an eviction is the gap that caused the cold start). The model is kept
 * alive until the `percentile` idle time (upper bin edge) plus `margin`; while the histogram has
 * fewer than `minSamples` samples or too many out of range, a fixed keep-alive applies.
 * Histories outlive evictions, so memory grows with the number of distinct models, not requests.
 * Under memory pressure the least recently used goes first. (Soonest keep-alive end was tried
 * and rejected: a busy model has the shortest keep-alive, so it would be evicted before a cold
 * one that has just been loaded; on the Azure sample that tripled the miss ratio.)
 */
export const hybridHistogram = (options: HybridHistogramOptions): EvictionPolicy => {
  const { binMs, percentile, margin, minSamples, maxOutOfRange, fallbackKeepAliveMs } = options
  const binCount = Math.max(1, Math.ceil(options.rangeMs / binMs))
  const histories = new Map<ModelId, History>()
  const heap = new IndexedHeap()
  const recency = new DList()
  let seq = 0
  let checkedAt = -Infinity

  const keepAliveOf = (h: History): number => {
    const total = h.inRange + h.outOfRange
    if (total < minSamples || h.outOfRange > maxOutOfRange * total) return fallbackKeepAliveMs
    const want = Math.ceil(percentile * h.inRange)
    let acc = 0
    let b = 0
    for (; b < binCount - 1; b++) {
      acc += h.bins[b]!
      if (acc >= want) break
    }
    return (b + 1) * binMs * (1 + margin)
  }

  /** Count a request at `now`: one idle-time sample per minute the model is active. */
  const observe = (h: History, now: number): void => {
    const last = h.lastRequest
    if (now > last) h.lastRequest = now
    if (last === -Infinity || Math.floor(now / binMs) <= Math.floor(last / binMs)) return
    const bin = Math.floor((now - last) / binMs)
    if (bin < binCount) {
      h.bins[bin]!++
      h.inRange++
    } else h.outOfRange++
    h.keepAliveMs = keepAliveOf(h)
  }

  const refresh = (n: HybridNode): void => {
    n.key = n.e.lastUsed + n.history.keepAliveMs
    n.tie = seq++
  }

  return {
    name: "hybrid-histogram",
    onInsert(e, now) {
      let h = histories.get(e.id)
      if (h === undefined) {
        h = new History(binCount, fallbackKeepAliveMs)
        histories.set(e.id, h)
      }
      observe(h, now)
      const n = new HybridNode(e, h)
      e.slot = n
      refresh(n)
      heap.push(n)
      recency.pushHead(n)
    },
    onHit(e, now) {
      const n = e.slot as HybridNode
      observe(n.history, now)
      refresh(n)
      heap.update(n)
      recency.moveToHead(n)
    },
    onRemove(e) {
      const n = e.slot as HybridNode
      heap.remove(n)
      recency.unlink(n)
    },
    chooseVictims(need, _now, evictable) {
      const out: Resident[] = []
      let freed = 0
      for (let n = recency.tail; n !== null && freed < need; n = n.prev) {
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
      heap.walkInOrder((n) => {
        if (n.key > now) return false
        if (isEvictable(n.e)) out.push(n.e)
        return true
      })
      return out
    },
    nextExpiry() {
      // Residents due at or before the latest check were busy then; report the next new one.
      let at = Infinity
      heap.walkInOrder((n) => {
        if (n.key <= checkedAt) return true
        at = n.key
        return false
      })
      return at
    }
  }
}

export const hybridHistogramPolicy = definePolicy({
  name: "hybrid-histogram",
  family: "eviction",
  description:
    "Serverless-in-the-Wild keep-alive: per-model idle-time histogram (1-min bins, 4 h), keep alive to p99 + 10%, fixed fallback; no pre-warming. Under memory pressure: least recently used.",
  options: HybridHistogramOptions,
  make: (o) => hybridHistogram(o)
})
