import type { InstanceView } from "../domain.js"
import type { PlacementRequest } from "./policy.js"

/**
 * The rules every placement policy shares, so no policy can get them wrong on its own:
 * an instance is eligible only if it does not already hold the model, is not shutting down,
 * is large enough to hold the model at all (even after evicting everything), and carries every
 * required label. Preferred labels then narrow the field: only the eligible instances matching
 * the most preferred labels compete, so a policy ranks "preferred first" without knowing about it.
 */

const matchesAll = (labels: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>> | undefined): boolean => {
  if (wanted === undefined) return true
  for (const k in wanted) if (labels[k] !== wanted[k]) return false
  return true
}

/** How many of the preferred labels an instance carries: higher tiers are chosen first. */
export const matchCount = (labels: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>> | undefined): number => {
  if (wanted === undefined) return 0
  let n = 0
  for (const k in wanted) if (labels[k] === wanted[k]) n++
  return n
}

export const isEligible = (req: PlacementRequest, inst: InstanceView): boolean =>
  !inst.hasModel && !inst.shuttingDown && inst.capacityBytes >= req.sizeBytes && matchesAll(inst.labels, req.required)

/**
 * Fill `out` with the candidates for `req`: the eligible instances in the best preference tier
 * (most preferred labels matched), in input order. `out` is the caller's reusable buffer, so a
 * placement call allocates nothing. Empty result = nothing can take the model.
 */
export const candidates = (req: PlacementRequest, instances: readonly InstanceView[], out: InstanceView[]): InstanceView[] => {
  const n = fillCandidates(req, instances, out)
  // setting an array's length is a runtime call even when nothing changes: only when it does
  if (out.length !== n) out.length = n
  return out
}

/**
 * `candidates` into the first entries of `out`, returning how many (entries past that are stale
 * and `out` may be longer): for the policies on the simulator's hot path, which count instead of
 * shrinking the buffer on every call.
 */
export const fillCandidates = (req: PlacementRequest, instances: readonly InstanceView[], out: InstanceView[]): number => {
  let n = 0
  let bestTier = -1
  const preferred = req.preferred
  for (let i = 0; i < instances.length; i++) {
    const inst = instances[i]!
    if (!isEligible(req, inst)) continue
    const tier = preferred === undefined ? 0 : matchCount(inst.labels, preferred)
    if (tier > bestTier) {
      bestTier = tier
      n = 0
    }
    if (tier === bestTier) out[n++] = inst
  }
  return n
}

export const freeBytes = (inst: InstanceView): number => inst.capacityBytes - inst.usedBytes
