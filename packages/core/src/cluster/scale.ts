/**
 * Scaling as both the simulator and a server run it: the policy says how many copies a model
 * wants, clamped here to [max(1, minCopies), maxCopies]; the caller adds copies through `place`
 * or removes idle ones in the order given here. Scaling never removes the last copy: when a
 * model should go altogether, that is the eviction policy's decision (with its own view of what
 * is worth keeping), so the two families never fight over one model.
 */
import type { ModelLoadStats } from "../domain.js"
import type { ScalingPolicy } from "../scaling/policy.js"

/** How many copies of the model to have now: the policy's answer, within the bounds above. */
export const targetCopies = (policy: ScalingPolicy, stats: ModelLoadStats, now: number): number => {
  const hi = stats.maxCopies
  const lo = Math.max(1, Math.min(stats.minCopies, hi))
  const want = policy.desiredCopies(stats, now)
  return Math.max(lo, Math.min(hi, want))
}

/** What scale-down needs to know about a copy. */
export interface ScalableCopy {
  /** requests waiting, queued or executing on it: a busy copy is never removed */
  readonly inFlight: number
  /** time of its last request */
  readonly lastUsed: number
  /** its instance's position, the tie-break: equal histories give the same choice every run */
  readonly instanceIndex: number
}

/**
 * The copies to remove to shed `n`: idle ones only, least recently used first (ties by instance
 * position). Fewer than `n` when too many are busy; they go at a later evaluation. Allocates its
 * answer: scaling runs every few seconds, not per request.
 */
export const copiesToRemove = <C extends ScalableCopy>(copies: readonly C[], n: number): C[] => {
  if (n <= 0) return []
  const idle = copies.filter((c) => c.inFlight === 0)
  idle.sort((a, b) => a.lastUsed - b.lastUsed || a.instanceIndex - b.instanceIndex)
  if (idle.length > n) idle.length = n
  return idle
}
