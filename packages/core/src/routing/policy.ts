import type { CopyView, ModelId } from "../domain.js"

/**
 * Chooses which loaded copy serves a request. `copies` is never empty; returns an index into it.
 * Plain, synchronous, deterministic for its seed.
 */
export interface RoutingPolicy {
  readonly name: string
  /**
   * `model` lets stateful policies keep per-model state (round-robin rotates per model: with one
   * shared counter, two interleaved models could each always land on the same copy). Callers
   * should pass it; without it such policies fall back to one shared state.
   */
  choose(copies: readonly CopyView[], now: number, model?: ModelId): number
}
