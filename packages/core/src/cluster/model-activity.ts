/**
 * The per-model request history scaling policies read (ModelLoadStats' rpm, lastUsed,
 * firstUsedInWindow), for many models by dense index: typed arrays, O(1) per request. A model
 * idle longer than the use-window gap starts a new window, so `firstUsedInWindow` is the start of
 * its current stretch of use (ModelMesh looks back up to 40 minutes).
 */
import type { ModelLoadStats } from "../domain.js"
import { RateWindows } from "./rate-windows.js"

/** A model idle this long starts a new use window (ModelMesh looks back up to 40 min). */
export const USE_WINDOW_GAP_MS = 40 * 60_000

/** ModelLoadStats with writable fields: the one record a caller refills for every model it scales. */
export type ModelLoadStatsState = { -readonly [K in keyof ModelLoadStats]: ModelLoadStats[K] }

export const modelLoadStatsState = (): ModelLoadStatsState => ({
  id: "",
  copies: 0,
  minCopies: 1,
  maxCopies: 1,
  rpm: 0,
  lastUsed: 0,
  firstUsedInWindow: -Infinity,
  clusterFreeFraction: 0
})

export class ModelActivity {
  private lastUsedAt: Float64Array
  private windowStart: Float64Array
  private readonly rate: RateWindows

  constructor(n = 64) {
    this.lastUsedAt = new Float64Array(n).fill(-Infinity)
    this.windowStart = new Float64Array(n).fill(-Infinity)
    this.rate = new RateWindows(n)
  }

  /** make room for models below n */
  ensure(n: number): void {
    this.rate.ensure(n)
    if (n <= this.lastUsedAt.length) return
    const cap = Math.max(n, this.lastUsedAt.length * 2)
    this.lastUsedAt = grow(this.lastUsedAt, cap)
    this.windowStart = grow(this.windowStart, cap)
  }

  /** a request for model m at time t (times never go back) */
  record(m: number, t: number): void {
    if (t - this.lastUsedAt[m]! > USE_WINDOW_GAP_MS) this.windowStart[m] = t
    this.lastUsedAt[m] = t
    this.rate.record(m, t)
  }

  lastUsed(m: number): number {
    return this.lastUsedAt[m]!
  }

  /** Fill the activity fields of `stats` (rpm, lastUsed, firstUsedInWindow) for model m at time t. */
  fill(stats: ModelLoadStatsState, m: number, t: number): void {
    stats.rpm = this.rate.rpm(m, t)
    stats.lastUsed = this.lastUsedAt[m]!
    stats.firstUsedInWindow = this.windowStart[m]!
  }
}

const grow = (a: Float64Array, cap: number): Float64Array => {
  const b = new Float64Array(cap).fill(-Infinity)
  b.set(a)
  return b
}
