import { Schema } from "effect"
import type { InstanceView } from "../domain.js"
import { definePolicy } from "../registry.js"
import type { Rng } from "../rng.js"
import { candidates, freeBytes } from "./constraints.js"
import type { PlacementPolicy } from "./policy.js"

export const PowerOfTwoPlacementOptions = Schema.Struct({
  by: Schema.optionalWith(Schema.Literal("free-space", "load"), { default: () => "free-space" as const }).annotations({
    description:
      "free-space: more free bytes wins, then fewer in-flight requests; load: fewer in-flight requests + loads in progress wins, then more free bytes",
    default: "free-space"
  })
})
export type PowerOfTwoPlacementOptions = typeof PowerOfTwoPlacementOptions.Type

const load = (i: InstanceView): number => i.inFlight + i.loadingCount

/** Negative = `a` is the better home for a new copy. */
const bySpace = (a: InstanceView, b: InstanceView): number => freeBytes(b) - freeBytes(a) || load(a) - load(b)
const byLoad = (a: InstanceView, b: InstanceView): number => load(a) - load(b) || freeBytes(b) - freeBytes(a)

/**
 * Two distinct eligible instances drawn uniformly (seeded), the better one by `by` wins; a tie
 * goes to the first drawn. Sampling two instead of scanning all keeps placements spread out when
 * many callers act on the same slightly stale view (no single "best" instance to herd onto).
 */
export const powerOfTwoPlacement = (o: PowerOfTwoPlacementOptions, rng: Rng): PlacementPolicy => {
  const cands: InstanceView[] = []
  const better = o.by === "load" ? byLoad : bySpace
  return {
    name: "power-of-two-choices",
    choose(req, instances) {
      candidates(req, instances, cands)
      const n = cands.length
      if (n <= 1) return cands[0]
      const i = rng.int(n)
      let j = rng.int(n - 1)
      if (j >= i) j++
      const a = cands[i]!
      const b = cands[j]!
      return better(b, a) < 0 ? b : a
    }
  }
}

export const powerOfTwoPlacementPolicy = definePolicy({
  name: "power-of-two-choices",
  family: "placement",
  description: "Two random eligible instances (seeded); the one with more free space wins (by: load = fewer in-flight + loading).",
  options: PowerOfTwoPlacementOptions,
  make: (o, ctx) => powerOfTwoPlacement(o, ctx.rng)
})
