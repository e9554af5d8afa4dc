import type { CopyView } from "../domain.js"

/**
 * Chooses which loaded copy serves a request. `copies` is never empty; returns an index into it.
 * Plain, synchronous, deterministic for its seed.
 */
export interface RoutingPolicy {
  readonly name: string
  choose(copies: readonly CopyView[], now: number): number
}
