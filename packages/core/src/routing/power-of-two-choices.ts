import { definePolicy, NoOptions } from "../registry.js"
import type { Rng } from "../rng.js"
import { copyOrder } from "./least-in-flight.js"
import type { RoutingPolicy } from "./policy.js"

/**
 * Two distinct copies drawn uniformly (seeded); the less loaded one serves (same order as
 * least-in-flight), a tie goes to the first drawn. With one or two copies there is nothing to
 * sample: both are compared directly, and the rng is used only to break a tie.
 */
export const powerOfTwoRouting = (rng: Rng): RoutingPolicy => ({
  name: "power-of-two-choices",
  choose(copies) {
    const n = copies.length
    if (n === 1) return 0
    let i: number
    let j: number
    if (n === 2) {
      i = rng.int(2)
      j = 1 - i
    } else {
      i = rng.int(n)
      j = rng.int(n - 1)
      if (j >= i) j++
    }
    return copyOrder(copies[j]!, copies[i]!) < 0 ? j : i
  }
})

export const powerOfTwoRoutingPolicy = definePolicy({
  name: "power-of-two-choices",
  family: "routing",
  description: "Two random copies (seeded); the one with fewer requests in flight serves.",
  options: NoOptions,
  make: (_o, ctx) => powerOfTwoRouting(ctx.rng)
})
