import type { ModelId } from "../domain.js"
import { definePolicy, NoOptions } from "../registry.js"
import type { RoutingPolicy } from "./policy.js"

/**
 * Each model's requests rotate over its copies: over any n consecutive requests to a model with
 * n copies, every copy serves exactly once. The rotation is kept per model (when the caller says
 * which), since a single counter shared by interleaved models can pin each model to one copy.
 * Load-blind by design: the baseline the load-aware policies are compared against. Memory: one
 * small counter per model ever routed.
 */
export const roundRobin = (): RoutingPolicy => {
  const next = new Map<ModelId, { n: number }>()
  const shared = { n: 0 }
  return {
    name: "round-robin",
    choose(copies, _now, model) {
      let c = shared
      if (model !== undefined) {
        const found = next.get(model)
        if (found === undefined) next.set(model, (c = { n: 0 }))
        else c = found
      }
      // Taken modulo the current count: the rotation stays valid when copies come and go.
      const i = c.n % copies.length
      c.n = i + 1
      return i
    }
  }
}

export const roundRobinPolicy = definePolicy({
  name: "round-robin",
  family: "routing",
  description: "Rotate over the copies of each model in turn, ignoring load (baseline).",
  options: NoOptions,
  make: () => roundRobin()
})
