import { Schema } from "effect"
import type { Rng } from "./rng.js"
import type { EvictionPolicy } from "./eviction/policy.js"
import type { ClusterSignal } from "./eviction/cluster-signal.js"
import type { PlacementPolicy } from "./placement/policy.js"
import type { RoutingPolicy } from "./routing/policy.js"
import type { ScalingPolicy } from "./scaling/policy.js"
import type { BatchingPolicy } from "./batching/policy.js"

export type Family = "eviction" | "placement" | "routing" | "scaling" | "batching"

export interface PolicyOf {
  eviction: EvictionPolicy
  placement: PlacementPolicy
  routing: RoutingPolicy
  scaling: ScalingPolicy
  batching: BatchingPolicy
}

/** What building a policy may use besides its configuration. */
export interface BuildContext {
  /** seeded randomness (placement/routing tie-breaks); never Math.random */
  readonly rng: Rng
  /** eviction policies: the byte capacity of the cache they will order (s3fifo sizes its queues) */
  readonly capacityBytes?: number
  /** eviction policies in a cluster: the cluster-wide request stream (meshkit-adaptive scores on it) */
  readonly cluster?: ClusterSignal
}

/**
 * A policy as the registry knows it: name, family, one line for `meshkit policies`, and an
 * Effect Schema for its options (defaults applied by the schema), so the server and the
 * simulator build identical policies from the same configuration.
 */
export interface PolicyDescriptor<F extends Family = Family, C = any> {
  readonly name: string
  readonly family: F
  readonly description: string
  readonly options: Schema.Schema<C, any>
  /** offline policies need the future request sequence: simulator only, reported as bounds */
  readonly offline?: boolean
  readonly make: (options: C, ctx: BuildContext) => PolicyOf[F]
}

export const definePolicy = <F extends Family, C>(d: PolicyDescriptor<F, C>): PolicyDescriptor<F, C> => d

/**
 * A policy with no options. The never-valued index signature makes any key an error naming that
 * key: a bare Schema.Struct({}) accepts every object even with onExcessProperty: "error".
 */
export const NoOptions = Schema.Struct({}, Schema.Record({ key: Schema.String, value: Schema.Never }))
