import { Schema } from "effect"
import { definePolicy } from "../registry.js"
import type { ModelId, Resident } from "../domain.js"
import { isEvictable } from "../cache/model-cache.js"
import { SlotHeap } from "../cache/heap.js"
import type { EvictionPolicy } from "./policy.js"
import { SlotQueue, Slots } from "../cache/slots.js"

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
  /** the percentile's bin (smallest b with bins[0..b] ≥ the wanted count), kept incrementally */
  pBin = 0
  /** bins[0..pBin] summed */
  pCum = 0
  constructor(binCount: number, fallback: number) {
    this.bins = new Uint32Array(binCount)
    this.keepAliveMs = fallback
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
  const slots = new Slots()
  /**
   * For expiry, keyed by a lower bound of each deadline (lastUsed + keep-alive): a hit usually
   * pushes the deadline later, and re-sifting on every hit would cost O(log n); instead `due`
   * holds the true deadline and stale keys are corrected when an expiry scan reaches them.
   * A deadline that moves earlier (a shorter keep-alive learned) is re-keyed at once.
   */
  const heap = new SlotHeap(slots)
  // Per slot, side by side (one cache line): the true deadline, the last request, the time the
  // next idle-time bin starts (a request before it adds no sample), and the keep-alive. A hit
  // touches only these; the model's History (bins) only when a sample is added.
  const DUE = 0
  const LAST = 1
  const NEXT_BIN = 2
  const KEEP = 3
  let hot = new Float64Array(slots.cap * 4)
  slots.onGrow((cap) => {
    const h = new Float64Array(cap * 4)
    h.set(hot)
    hot = h
  })
  const stale: number[] = []
  /** recency order, for memory pressure */
  const recency = new SlotQueue(slots)
  /** slot → its model's history */
  const historyOf: (History | undefined)[] = []
  let seq = 0
  let checkedAt = -Infinity

  const keepAliveOf = (h: History): number => {
    const total = h.inRange + h.outOfRange
    if (total < minSamples || h.outOfRange > maxOutOfRange * total) return fallbackKeepAliveMs
    return (h.pBin + 1) * binMs * (1 + margin)
  }

  /** A request at `now` in a later bin than the previous one (`last`): add its idle-time sample. */
  const sample = (h: History, last: number, now: number): void => {
    const bin = Math.floor((now - last) / binMs)
    if (bin < binCount) {
      const bins = h.bins
      bins[bin]!++
      h.inRange++
      if (bin <= h.pBin) h.pCum++
      // Move the percentile's bin to the smallest b whose cumulative count reaches the wanted
      // count: amortised O(1) per sample instead of a scan of all bins.
      const want = Math.ceil(percentile * h.inRange)
      while (h.pBin > 0 && h.pCum - bins[h.pBin]! >= want) h.pCum -= bins[h.pBin--]!
      while (h.pBin < binCount - 1 && h.pCum < want) h.pCum += bins[++h.pBin]!
    } else h.outOfRange++
    h.keepAliveMs = keepAliveOf(h)
  }

  const nextBinAfter = (t: number): number => (Math.floor(t / binMs) + 1) * binMs

  return {
    name: "hybrid-histogram",
    onInsert(e, now) {
      let h = histories.get(e.id)
      if (h === undefined) {
        h = new History(binCount, fallbackKeepAliveMs)
        histories.set(e.id, h)
      }
      const last = h.lastRequest
      if (last !== -Infinity && now >= nextBinAfter(last)) sample(h, last, now)
      const s = slots.alloc(e)
      historyOf[s] = h
      const o = 4 * s
      hot[o + LAST] = Math.max(now, last)
      hot[o + NEXT_BIN] = nextBinAfter(hot[o + LAST]!)
      hot[o + KEEP] = h.keepAliveMs
      hot[o + DUE] = heap.key[s] = e.lastUsed + h.keepAliveMs
      heap.tie[s] = seq++
      heap.push(s)
      recency.pushHead(s)
    },
    onHit(e, now) {
      const s = e.slot as number
      const o = 4 * s
      if (now >= hot[o + NEXT_BIN]!) {
        const h = historyOf[s]!
        sample(h, hot[o + LAST]!, now)
        hot[o + KEEP] = h.keepAliveMs
        hot[o + NEXT_BIN] = nextBinAfter(now)
      }
      if (now > hot[o + LAST]!) hot[o + LAST] = now
      const d = e.lastUsed + hot[o + KEEP]!
      hot[o + DUE] = d
      if (d < heap.key[s]!) {
        heap.key[s] = d
        heap.update(s)
      }
      recency.moveToHead(s)
    },
    onRemove(e) {
      const s = e.slot as number
      const h = historyOf[s]!
      if (hot[4 * s + LAST]! > h.lastRequest) h.lastRequest = hot[4 * s + LAST]!
      heap.remove(s)
      recency.unlink(s)
      historyOf[s] = undefined
      slots.release(s)
    },
    chooseVictims(need, _now, evictable) {
      return recency.takeFromTail(need, evictable)
    },
    expired(now) {
      if (now > checkedAt) checkedAt = now
      const out: Resident[] = []
      heap.beginWalk()
      for (let s = heap.nextInWalk(); s >= 0 && heap.key[s]! <= now; s = heap.nextInWalk()) {
        if (hot[4 * s + DUE]! > now) stale.push(s)
        else if (isEvictable(slots.res[s]!)) out.push(slots.res[s]!)
      }
      // Correct the stale keys met (after the walk: the heap must not change during it).
      for (const s of stale) {
        heap.key[s] = hot[4 * s + DUE]!
        heap.update(s)
      }
      stale.length = 0
      return out
    },
    nextExpiry() {
      // Residents due at or before the latest check were busy then; report the next new one.
      // Keys are lower bounds of deadlines, so the walk stops once a key reaches the best found.
      let best = Infinity
      heap.beginWalk()
      for (let s = heap.nextInWalk(); s >= 0 && heap.key[s]! < best; s = heap.nextInWalk()) {
        const d = hot[4 * s + DUE]!
        if (d > checkedAt && d < best) best = d
      }
      return best
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
