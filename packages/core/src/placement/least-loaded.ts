import type { InstanceView } from "../domain.js"
import { definePolicy, NoOptions } from "../registry.js"
import type { Rng } from "../rng.js"
import { candidates } from "./constraints.js"
import type { PlacementPolicy } from "./policy.js"

/**
 * Fewest requests in flight, then fewest loads in progress: the new copy goes where it will be
 * served soonest. Exact ties are broken uniformly with the seeded rng (reservoir sampling), so
 * an idle cluster spreads loads instead of stacking them on the first instance.
 */
export const leastLoadedPlacement = (rng: Rng): PlacementPolicy => {
  const cands: InstanceView[] = []
  return {
    name: "least-loaded",
    choose(req, instances) {
      candidates(req, instances, cands)
      let best: InstanceView | undefined
      let ties = 0
      for (const c of cands) {
        const d = best === undefined ? -1 : c.inFlight - best.inFlight || c.loadingCount - best.loadingCount
        if (d < 0) {
          best = c
          ties = 1
        } else if (d === 0 && rng.int(++ties) === 0) best = c
      }
      return best
    }
  }
}

export const leastLoadedPlacementPolicy = definePolicy({
  name: "least-loaded",
  family: "placement",
  description: "Fewest in-flight requests, then fewest loads in progress; exact ties broken at random (seeded).",
  options: NoOptions,
  make: (_o, ctx) => leastLoadedPlacement(ctx.rng)
})
