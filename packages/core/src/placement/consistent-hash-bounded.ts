import { Schema } from "effect"
import type { InstanceView } from "../domain.js"
import { definePolicy } from "../registry.js"
import { isEligible, matchCount } from "./constraints.js"
import type { PlacementPolicy } from "./policy.js"

export const ConsistentHashOptions = Schema.Struct({
  epsilon: Schema.optionalWith(Schema.Number.pipe(Schema.nonNegative()), { default: () => 0.25 }).annotations({
    description: "load bound: an instance takes a new copy only while it holds fewer than ceil((1 + epsilon) × average models)",
    default: 0.25
  }),
  virtualNodes: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(1, 4096)), { default: () => 100 }).annotations({
    description: "points per instance on the hash ring (more = smoother spread, slower rebuild)",
    default: 100
  })
})
export type ConsistentHashOptions = typeof ConsistentHashOptions.Type

/** FNV-1a over UTF-16 code units, then murmur3's finaliser so that similar ids land far apart. */
export const hash32 = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

interface Ring {
  readonly ids: readonly string[]
  /** sorted ring positions and, for each, the index (into `ids`) of the instance owning it */
  readonly points: Uint32Array
  readonly owner: Int32Array
}

/** The ring depends only on the set of instance ids, never on their order or state. */
const buildRing = (ids: readonly string[], vnodes: number): Ring => {
  const entries: { h: number; id: string; i: number }[] = []
  ids.forEach((id, i) => {
    for (let v = 0; v < vnodes; v++) entries.push({ h: hash32(`${id}#${v}`), id, i })
  })
  entries.sort((a, b) => a.h - b.h || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return { ids, points: Uint32Array.from(entries, (e) => e.h), owner: Int32Array.from(entries, (e) => e.i) }
}

const sameIds = (ring: Ring | undefined, instances: readonly InstanceView[]): ring is Ring => {
  if (ring === undefined || ring.ids.length !== instances.length) return false
  for (let i = 0; i < instances.length; i++) if (ring.ids[i] !== instances[i]!.id) return false
  return true
}

/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam 2018): the model id is
 * hashed onto a ring of instance points; walking clockwise, the first candidate instance holding
 * fewer than ceil((1 + ε) × average) models takes the copy. A model keeps landing on the same
 * instances as long as they have room, and adding or removing one instance moves only the models
 * whose walk passed it. If every candidate is at the bound, the first candidate on the walk is
 * used rather than refusing: the bound spreads load, it never makes placement fail.
 * The ring is rebuilt only when the instance list changes.
 */
export const consistentHashPlacement = (o: ConsistentHashOptions): PlacementPolicy => {
  let ring: Ring | undefined
  let tier = new Int32Array(0)
  let seen = new Int32Array(0)
  let stamp = 0
  return {
    name: "consistent-hash-bounded",
    choose(req, instances) {
      const n = instances.length
      if (!sameIds(ring, instances)) {
        ring = buildRing(instances.map((i) => i.id), o.virtualNodes)
        tier = new Int32Array(n)
        seen = new Int32Array(n)
        stamp = 0
      }
      let bestTier = -1
      let live = 0
      let models = 0
      for (let i = 0; i < n; i++) {
        const inst = instances[i]!
        if (!inst.shuttingDown) {
          live++
          models += inst.modelCount
        }
        const t = isEligible(req, inst) ? matchCount(inst.labels, req.preferred) : -1
        tier[i] = t
        if (t > bestTier) bestTier = t
      }
      if (bestTier < 0) return undefined
      const bound = Math.ceil(((1 + o.epsilon) * (models + 1)) / live)

      const { points, owner } = ring
      const h = hash32(req.model.id)
      let lo = 0
      let hi = points.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (points[mid]! < h) lo = mid + 1
        else hi = mid
      }
      stamp++
      let fallback: InstanceView | undefined
      let visited = 0
      for (let k = 0; k < points.length && visited < n; k++) {
        const i = owner[(lo + k) % points.length]!
        if (seen[i] === stamp) continue
        seen[i] = stamp
        visited++
        if (tier[i] !== bestTier) continue
        const inst = instances[i]!
        if (inst.modelCount < bound) return inst
        fallback ??= inst
      }
      return fallback
    }
  }
}

export const consistentHashPlacementPolicy = definePolicy({
  name: "consistent-hash-bounded",
  family: "placement",
  description: "Consistent hashing of the model id over instances (virtual nodes) with bounded load: skip instances above (1+ε) × average models.",
  options: ConsistentHashOptions,
  make: (o) => consistentHashPlacement(o)
})
