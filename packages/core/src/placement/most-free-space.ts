import type { InstanceView } from "../domain.js"
import { definePolicy, NoOptions } from "../registry.js"
import type { Rng } from "../rng.js"
import { candidates, freeBytes } from "./constraints.js"
import type { PlacementPolicy } from "./policy.js"

/**
 * Most free bytes, so the new copy evicts as little as possible (Ray's "emptiest replica").
 * Then fewest loads in progress; exact ties broken uniformly with the seeded rng.
 */
export const mostFreeSpacePlacement = (rng: Rng): PlacementPolicy => {
  const cands: InstanceView[] = []
  return {
    name: "most-free-space",
    choose(req, instances) {
      candidates(req, instances, cands)
      let best: InstanceView | undefined
      let ties = 0
      for (const c of cands) {
        const d = best === undefined ? -1 : freeBytes(best) - freeBytes(c) || c.loadingCount - best.loadingCount
        if (d < 0) {
          best = c
          ties = 1
        } else if (d === 0 && rng.int(++ties) === 0) best = c
      }
      return best
    }
  }
}

export const mostFreeSpacePlacementPolicy = definePolicy({
  name: "most-free-space",
  family: "placement",
  description: "Most free bytes (least eviction), then fewest loads in progress; exact ties broken at random (seeded).",
  options: NoOptions,
  make: (_o, ctx) => mostFreeSpacePlacement(ctx.rng)
})
