import { Schema } from "effect"
import type { CopyView } from "../domain.js"
import { definePolicy } from "../registry.js"
import type { Rng } from "../rng.js"
import type { RoutingPolicy } from "./policy.js"

export const LeastInFlightOptions = Schema.Struct({
  ties: Schema.optionalWith(Schema.Literal("random", "first"), { default: () => "random" as const }).annotations({
    description: "among equally loaded copies: a uniform pick from the seeded rng, or the first in order",
    default: "random"
  })
})
export type LeastInFlightOptions = typeof LeastInFlightOptions.Type

/**
 * Negative = `a` should serve first. A copy below its concurrency limit runs the request now, one
 * at the limit queues it, so "has a free slot" outranks the raw in-flight count.
 */
export const copyOrder = (a: CopyView, b: CopyView): number =>
  (a.inFlight >= a.maxConcurrency ? 1 : 0) - (b.inFlight >= b.maxConcurrency ? 1 : 0) || a.inFlight - b.inFlight

/**
 * ModelMesh's routing: the copy with the fewest requests in flight (copies with a free
 * concurrency slot first). One pass, no allocation; ties resolved by reservoir sampling so that
 * the rng is consulted only when there is a tie.
 */
export const leastInFlight = (o: LeastInFlightOptions, rng: Rng): RoutingPolicy => {
  const random = o.ties === "random"
  return {
    name: "least-in-flight",
    choose(copies) {
      let best = 0
      let ties = 1
      for (let i = 1; i < copies.length; i++) {
        const d = copyOrder(copies[i]!, copies[best]!)
        if (d < 0) {
          best = i
          ties = 1
        } else if (d === 0 && random && rng.int(++ties) === 0) best = i
      }
      return best
    }
  }
}

export const leastInFlightPolicy = definePolicy({
  name: "least-in-flight",
  family: "routing",
  description: "The copy with the fewest requests in flight (copies below their concurrency limit first); ties random (seeded) or first.",
  options: LeastInFlightOptions,
  make: (o, ctx) => leastInFlight(o, ctx.rng)
})
