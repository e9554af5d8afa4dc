/**
 * Routing as both the simulator and a server run it: which loaded copy of `model` serves a
 * request. The model is required, so stateful policies keep their state per model (round-robin
 * with one shared counter can pin interleaved models each to one copy; see round-robin.ts).
 * One copy needs no choice and does not consult the policy (nor its rng).
 */
import type { CopyView, ModelId } from "../domain.js"
import type { RoutingPolicy } from "../routing/policy.js"

/** Index into `copies` (never empty) of the copy that serves the request. */
export const route = (policy: RoutingPolicy, copies: readonly CopyView[], model: ModelId, now: number): number =>
  copies.length === 1 ? 0 : policy.choose(copies, now, model)
