import type { ModelLoadStats } from "../domain.js"

/**
 * Decides how many copies a model should have, called periodically per model. Must return a
 * value within [minCopies, maxCopies] (and ≥ 1 while the model is in use); the caller adds or
 * removes copies towards it.
 */
export interface ScalingPolicy {
  readonly name: string
  /** how often (ms) the caller should ask */
  readonly intervalMs: number
  desiredCopies(stats: ModelLoadStats, now: number): number
}
