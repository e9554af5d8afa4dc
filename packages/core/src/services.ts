import { Context, Effect, Layer, Schema } from "effect"
import { buildPolicy, buildPolicyEffect, PolicyChoice, type PolicyConfigError } from "./catalogue.js"
import type { EvictionPolicy } from "./eviction/policy.js"
import type { PlacementPolicy } from "./placement/policy.js"
import { makeRng } from "./rng.js"
import type { RoutingPolicy } from "./routing/policy.js"
import type { ScalingPolicy } from "./scaling/policy.js"

/**
 * The policy families as Effect services. Eviction is per instance (each cache owns its own
 * policy state), so its service is a factory; the others are shared by the whole node.
 * Both the server and the simulator build these from one `PoliciesConfig`.
 */
export class Eviction extends Context.Tag("meshkit/Eviction")<
  Eviction,
  { readonly name: string; readonly make: (capacityBytes: number) => EvictionPolicy }
>() {}
export class Placement extends Context.Tag("meshkit/Placement")<Placement, PlacementPolicy>() {}
export class Routing extends Context.Tag("meshkit/Routing")<Routing, RoutingPolicy>() {}
export class Scaling extends Context.Tag("meshkit/Scaling")<Scaling, ScalingPolicy>() {}

const Choice = Schema.Union(Schema.String, PolicyChoice)

/** Which policy of each family, with options. Every field has a sane default. */
export const PoliciesConfig = Schema.Struct({
  eviction: Schema.optionalWith(Choice, { default: () => "lru" }),
  placement: Schema.optionalWith(Choice, { default: () => "modelmesh" }),
  routing: Schema.optionalWith(Choice, { default: () => "least-in-flight" }),
  scaling: Schema.optionalWith(Choice, { default: () => "modelmesh" }),
  seed: Schema.optionalWith(Schema.Number, { default: () => 1 })
})
export type PoliciesConfig = typeof PoliciesConfig.Type

/** Build each family from config; a bad name or option fails with PolicyConfigError. */
export const evictionLayer = (choice: PoliciesConfig["eviction"]): Layer.Layer<Eviction, PolicyConfigError> =>
  Layer.effect(
    Eviction,
    Effect.gen(function* () {
      // Build once up front so a bad configuration fails at start-up, not on the first miss.
      const probe = yield* buildPolicyEffect("eviction", choice, { rng: makeRng(1), capacityBytes: 1 << 30 })
      return {
        name: probe.name,
        make: (capacityBytes: number) => buildPolicy("eviction", choice, { rng: makeRng(1), capacityBytes })
      }
    })
  )

export const placementLayer = (choice: PoliciesConfig["placement"], seed: number) =>
  Layer.effect(Placement, buildPolicyEffect("placement", choice, { rng: makeRng(seed) }))
export const routingLayer = (choice: PoliciesConfig["routing"], seed: number) =>
  Layer.effect(Routing, buildPolicyEffect("routing", choice, { rng: makeRng(seed + 1) }))
export const scalingLayer = (choice: PoliciesConfig["scaling"], seed: number) =>
  Layer.effect(Scaling, buildPolicyEffect("scaling", choice, { rng: makeRng(seed + 2) }))

/** All four families from one configuration. */
export const policiesLayer = (config: PoliciesConfig) =>
  Layer.mergeAll(
    evictionLayer(config.eviction),
    placementLayer(config.placement, config.seed),
    routingLayer(config.routing, config.seed),
    scalingLayer(config.scaling, config.seed)
  )
