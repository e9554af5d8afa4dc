/**
 * The eviction family as an Effect service, for the server's Layer graph. Eviction is per
 * instance (each cache owns its own policy state), so the service is a factory. The other
 * families have no service: their decisions are plain functions in ./cluster/ (place, route,
 * scale) that the simulator calls directly and that a server's placement driver will call the
 * same way, with policies built by `buildPolicy` and seeded by `policyRng`.
 */
import { Context, Effect, Layer } from "effect"
import { buildPolicy, buildPolicyEffect, type PolicyChoice, type PolicyConfigError } from "./catalogue.js"
import type { EvictionPolicy } from "./eviction/policy.js"
import type { ClusterSignal } from "./eviction/cluster-signal.js"
import { policyRng } from "./rng.js"

export class Eviction extends Context.Tag("meshkit/Eviction")<
  Eviction,
  {
    readonly name: string
    /** `traffic`: the request stream the policy may learn from (BuildContext.cluster) */
    readonly make: (capacityBytes: number, traffic?: ClusterSignal) => EvictionPolicy
  }
>() {}

/**
 * Build the eviction policy from config; a bad name or option fails with PolicyConfigError at
 * start-up (the policy is built once up front), not on the first miss. Policies are seeded as the
 * simulator seeds instance 0's, so one seed means the same eviction choices on both sides.
 */
export const evictionLayer = (choice: PolicyChoice | string, seed = 1): Layer.Layer<Eviction, PolicyConfigError> =>
  Layer.effect(
    Eviction,
    Effect.gen(function* () {
      const probe = yield* buildPolicyEffect("eviction", choice, { rng: policyRng(seed, "eviction"), capacityBytes: 1 << 30 })
      return {
        name: probe.name,
        make: (capacityBytes: number, traffic?: ClusterSignal) =>
          buildPolicy("eviction", choice, { rng: policyRng(seed, "eviction"), capacityBytes, ...(traffic !== undefined ? { cluster: traffic } : {}) })
      }
    })
  )
