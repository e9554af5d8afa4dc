import { Schema } from "effect"
import type { InstanceView } from "../domain.js"
import { definePolicy } from "../registry.js"
import type { Rng } from "../rng.js"
import { fillCandidates, freeBytes } from "./constraints.js"
import type { PlacementPolicy } from "./policy.js"

export const ModelMeshPlacementOptions = Schema.Struct({
  shortlistTolerance: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)), { default: () => 0.1 }).annotations({
    description: "how close to the best (as a fraction of its free space, or of its LRU age when all are full) a candidate must be to join the random shortlist",
    default: 0.1
  }),
  overloadFactor: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThanOrEqualTo(1)), { default: () => 2 }).annotations({
    description: "shortlisted instances with rpm above overloadFactor × the shortlist's minimum rpm + overloadSlackRpm are dropped",
    default: 2
  }),
  overloadSlackRpm: Schema.optionalWith(Schema.Number.pipe(Schema.nonNegative()), { default: () => 60 }).annotations({
    description: "absolute rpm slack, so that 0 vs 3 requests/min does not count as overloaded",
    default: 60
  })
})
export type ModelMeshPlacementOptions = typeof ModelMeshPlacementOptions.Type

/**
 * ModelMesh's PLACEMENT_ORDER, best first, for a model of `size` bytes. Negative = `a` is better.
 * ("fewer copies of this model" is always equal here: instances holding it are not candidates.)
 */
export const placementOrder = (a: InstanceView, b: InstanceView, size: number): number => orderByFree(a, freeBytes(a), b, freeBytes(b), size)

/** placementOrder with each instance's free bytes already computed (the hot path computes them once per choice) */
const orderByFree = (a: InstanceView, freeA: number, b: InstanceView, freeB: number, size: number): number => {
  const fitsA = freeA >= size
  const fitsB = freeB >= size
  if (fitsA !== fitsB) return fitsA ? -1 : 1
  // Both full: loading means evicting, and evicting long-unused models hurts least.
  if (!fitsA && a.lruTime !== b.lruTime) return a.lruTime < b.lruTime ? -1 : 1
  if (freeA !== freeB) return freeA > freeB ? -1 : 1
  if (a.lruTime !== b.lruTime) return a.lruTime < b.lruTime ? -1 : 1
  const slotsA = a.maxConcurrentLoads - a.loadingCount
  const slotsB = b.maxConcurrentLoads - b.loadingCount
  if (slotsA !== slotsB) return slotsA > slotsB ? -1 : 1
  if (a.loadingCount !== b.loadingCount) return a.loadingCount < b.loadingCount ? -1 : 1
  if (a.capacityBytes !== b.capacityBytes) return a.capacityBytes > b.capacityBytes ? -1 : 1
  if (a.rpm !== b.rpm) return a.rpm < b.rpm ? -1 : 1
  return 0
}

/**
 * ModelMesh placement, minus its load herding (kserve/modelmesh#469, where every caller sent its
 * loads to the same top-ranked pod):
 *  - the shortlist is every candidate *near* the best on the key that matters most (free space,
 *    or LRU age when all are full, within `shortlistTolerance`), not only exact ties, so equal-ish
 *    instances share new loads; the later keys of the order only pick the best (the yardstick):
 *    differences there are noise next to spreading the loads;
 *  - loads in progress count: a shortlisted instance whose load slots are all busy is dropped when
 *    another has a free slot (a load there would queue behind the others);
 *  - overloaded instances (rpm well above the shortlist's minimum) are dropped, then the choice is
 *    uniform among the rest with the seeded rng.
 * A model larger than an instance's whole capacity is never placed there (the shared eligibility
 * rule), so a load that cannot succeed even after evicting everything is never attempted.
 */
export const modelmeshPlacement = (o: ModelMeshPlacementOptions, rng: Rng): PlacementPolicy => {
  const cands: InstanceView[] = []
  /** each candidate's free bytes, by candidate position (computed once per choice) */
  let free = new Float64Array(16)
  /** shortlist, as candidate positions */
  let shortlist = new Int32Array(16)
  const grow = (n: number): void => {
    free = new Float64Array(n * 2)
    shortlist = new Int32Array(n * 2)
  }
  const keep = 1 - o.shortlistTolerance
  return {
    name: "modelmesh",
    choose(req, instances, now) {
      const size = req.sizeBytes
      let nc = 0
      let b = 0
      if (req.required === undefined && req.preferred === undefined) {
        // no label rules (the simulator's case): the candidates (isEligible without labels),
        // their free bytes and the best in one pass, in input order as fillCandidates lists them
        if (free.length < instances.length) grow(instances.length)
        for (let i = 0; i < instances.length; i++) {
          const c = instances[i]!
          if (c.hasModel || c.shuttingDown || !(c.capacityBytes >= size)) continue
          const f = c.capacityBytes - c.usedBytes
          cands[nc] = c
          free[nc] = f
          if (nc > 0 && orderByFree(c, f, cands[b]!, free[b]!, size) < 0) b = nc
          nc++
        }
        if (nc <= 1) return nc === 1 ? cands[0] : undefined
      } else {
        // the buffers are filled by index and counted, never shrunk (see fillCandidates)
        nc = fillCandidates(req, instances, cands)
        if (nc <= 1) return nc === 1 ? cands[0] : undefined
        if (free.length < nc) grow(nc)
        for (let i = 0; i < nc; i++) free[i] = freeBytes(cands[i]!)
        for (let i = 1; i < nc; i++) if (orderByFree(cands[i]!, free[i]!, cands[b]!, free[b]!, size) < 0) b = i
      }
      const best = cands[b]!

      const bestFits = free[b]! >= size
      const minFree = keep * free[b]!
      const minAge = keep * (now - best.lruTime)
      let ns = 0
      let anySlot = false
      for (let i = 0; i < nc; i++) {
        const c = cands[i]!
        const f = free[i]!
        const fits = f >= size
        if (fits !== bestFits) continue
        if (fits ? f < minFree : now - c.lruTime < minAge) continue
        shortlist[ns++] = i
        if (c.loadingCount < c.maxConcurrentLoads) anySlot = true
      }
      // The best is always on its own shortlist, so the filters below never empty it.
      let n = 0
      let minRpm = Infinity
      for (let i = 0; i < ns; i++) {
        const k = shortlist[i]!
        const c = cands[k]!
        if (anySlot && c.loadingCount >= c.maxConcurrentLoads) continue
        shortlist[n++] = k
        if (c.rpm < minRpm) minRpm = c.rpm
      }
      const maxRpm = minRpm * o.overloadFactor + o.overloadSlackRpm
      let m = 0
      for (let i = 0; i < n; i++) {
        const k = shortlist[i]!
        if (cands[k]!.rpm <= maxRpm) shortlist[m++] = k
      }
      return cands[shortlist[m === 1 ? 0 : rng.int(m)]!]
    }
  }
}

export const modelmeshPlacementPolicy = definePolicy({
  name: "modelmesh",
  family: "placement",
  description:
    "ModelMesh's PLACEMENT_ORDER (room before full, free space, LRU age, load slots, capacity, rpm), then a random pick among near-equal, not-overloaded instances with free load slots.",
  options: ModelMeshPlacementOptions,
  make: (o, ctx) => modelmeshPlacement(o, ctx.rng)
})
