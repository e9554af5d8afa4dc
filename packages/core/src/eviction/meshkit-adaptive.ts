import { Schema } from "effect"
import { definePolicy, type BuildContext } from "../registry.js"
import type { ModelId, Resident } from "../domain.js"
import type { EvictionPolicy } from "./policy.js"
import { defaultAdaptiveMix } from "./adaptive-mix.js"
import { gdsf } from "./gdsf.js"
import { lfu } from "./lfu.js"
import { lru } from "./lru.js"
import { s3fifo } from "./s3fifo.js"
import { sieve } from "./sieve.js"

const Expert = Schema.Literal("mix", "lru", "gdsf", "gdsf-uniform", "s3fifo", "sieve", "lfu")
type Expert = typeof Expert.Type

export const MeshkitAdaptiveOptions = Schema.Struct({
  /** the policies it follows (the first leads until the scores say otherwise) */
  experts: Schema.optionalWith(Schema.Array(Expert).pipe(Schema.minItems(1), Schema.maxItems(8)), {
    default: () => ["mix", "gdsf", "lru", "s3fifo", "sieve"] as const
  }),
  /** half-life of the experts' miss scores, in requests seen by this cache */
  halfLife: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThanOrEqualTo(1)), { default: () => 20_000 }),
  /** a challenger leads once its score is this share below the leader's (no flapping on ties) */
  hysteresis: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 0.5)), { default: () => 0.02 }),
  /**
   * requests before the first switch away from the first expert: the scores settle (every shadow
   * is filling at first) and, in a cluster, the incumbent keeps the traffic it attracted
   */
  warmup: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThanOrEqualTo(0)), { default: () => 1000 }),
  /** what a shadow miss costs in the scores: 1 (the miss ratio) or the model's load time */
  cost: Schema.optionalWith(Schema.Literal("uniform", "load"), { default: () => "uniform" as const })
})
export type MeshkitAdaptiveOptions = typeof MeshkitAdaptiveOptions.Type

/** A model known to the real cache or to a shadow: which of them hold it. */
interface Rec {
  readonly id: ModelId
  /** the real cache's entry, while resident */
  real: Resident | undefined
  /** per expert: its shadow entry, while that expert would hold the model */
  readonly shadow: Array<ShadowEntry | undefined>
  /** how many of the real cache and the shadows hold it (0: forgotten) */
  held: number
  /** chooseVictims epoch in which it was offered */
  mark: number
  /** epoch in which it was offered from the leader's own order (step 2 of chooseVictims) */
  pick: number
}

/** A shadow cache's resident: a Resident of its own (the expert keeps its state in `slot`). */
interface ShadowEntry extends Resident {
  readonly rec: Rec
}

/** One expert: its policy over a metadata-only cache of the same capacity, and its score. */
interface Shadow {
  readonly policy: EvictionPolicy
  used: number
  /** decayed miss cost (in units of the current increment's scale) */
  score: number
  /** real residents this expert has already evicted, oldest first: the leader's first victims */
  readonly out: Set<Rec>
}

const always = (): boolean => true
/** the increment grows by 2^(1/halfLife) per request; rescale everything before it overflows */
const RESCALE_AT = 1e200

/**
 * meshkit-adaptive: follow the best of several classic policies, as measured on this very cache's
 * request stream. Each expert (default: "mix" — ./adaptive-mix.ts, S3-FIFO's probation in front
 * of a learned blend of LRU and GDSF orders, which was meshkit-adaptive before — gdsf, lru, s3fifo
 * and sieve; lfu and gdsf with uniform cost on request) runs on a shadow cache of
 * the same capacity that holds only metadata: every request the real cache sees (hit or insert)
 * is replayed on every shadow, which hits or misses and evicts as that policy would. Each shadow
 * keeps a miss score that decays with a half-life of `halfLife` requests, so the scores measure
 * which policy would have missed least on the recent traffic — a frequency-heavy trace (Azure)
 * crowns GDSF, on/off bursts LRU, a scan-heavy or large cache S3-FIFO or SIEVE — and the score
 * follows the trace when its phase changes. That is why it adapts, and why it does not lose: it
 * is a regret-style "follow the leader" over experts (cf. LeCaR/ARC's ghost learning, but the
 * ghosts are whole simulated caches, so the comparison is exact rather than a heuristic).
 *
 * The real cache evicts for the leader: first the real residents the leader has already evicted
 * in its shadow (oldest first; the leader would not hold them), then the leader's own order over
 * the residents it still holds. A model inserted into the real cache was just requested, so it
 * is in every shadow: after a switch, the real contents converge to the leader's within a few
 * evictions, and while the leader stays, the real cache makes the leader's decisions (except
 * where the cache's rules — loading, in-flight, pinned — forbid an eviction). A challenger takes
 * the lead only when its score is `hysteresis` below the leader's.
 *
 * Cost: each request is one operation on each of k shadows (O(log n) for the heap-based experts,
 * O(1) for the others), so O(k log n) per request, and a hit allocates nothing; a miss allocates
 * one small entry per shadow that misses. Victims walk the leader's order skipping models only
 * the shadow holds (few once converged). Memory: one record per model held by the real cache or
 * a shadow. Deterministic: no randomness, no clock.
 */
export const meshkitAdaptive = (options: MeshkitAdaptiveOptions, capacityBytes: number): EvictionPolicy => {
  if (!(capacityBytes > 0)) throw new RangeError(`meshkit-adaptive needs the cache capacity in bytes, got ${capacityBytes}`)
  const make = (x: Expert): EvictionPolicy => {
    switch (x) {
      case "mix":
        return defaultAdaptiveMix(capacityBytes)
      case "lru":
        return lru()
      case "gdsf":
        return gdsf({ cost: "load" })
      case "gdsf-uniform":
        return gdsf({ cost: "uniform" })
      case "s3fifo":
        return s3fifo({ smallFraction: 0.1, ghostFraction: 0.9, promoteAt: 2 }, capacityBytes)
      case "sieve":
        return sieve()
      case "lfu":
        return lfu()
    }
  }
  const shadows: Shadow[] = options.experts.map((x) => ({ policy: make(x), used: 0, score: 0, out: new Set<Rec>() }))
  const k = shadows.length
  const growth = Math.pow(2, 1 / options.halfLife)
  const keep = 1 - options.hysteresis
  const loadCost = options.cost === "load"
  const recs = new Map<ModelId, Rec>()
  let inc = 1
  let leader = 0
  let seen = 0
  const warmup = options.warmup
  let epoch = 1

  const forget = (rec: Rec): void => {
    if (rec.held === 0) recs.delete(rec.id)
  }

  /** shadow j stops holding `se` (its own victim) */
  const drop = (j: number, se: ShadowEntry): void => {
    const sh = shadows[j]!
    sh.policy.onRemove(se)
    sh.used -= se.size
    const rec = se.rec
    rec.shadow[j] = undefined
    rec.held--
    if (rec.real !== undefined) sh.out.add(rec)
    else forget(rec)
  }

  /** replay one request for `e` on shadow j */
  const request = (j: number, rec: Rec, e: Resident, now: number): void => {
    const sh = shadows[j]!
    const se = rec.shadow[j]
    if (se !== undefined) {
      if (now > se.lastUsed) se.lastUsed = now
      se.hits++
      sh.policy.onHit(se, now)
      return
    }
    sh.score += inc * (loadCost ? e.loadCostMs : 1)
    const need = sh.used + e.size - capacityBytes
    if (need > 0) {
      const victims = sh.policy.chooseVictims(need, now, always)
      let freed = 0
      for (let i = 0; i < victims.length && freed < need; i++) {
        const v = victims[i] as ShadowEntry
        freed += v.size
        drop(j, v)
      }
    }
    const entry: ShadowEntry = {
      lastUsed: now,
      hits: 1,
      slot: undefined,
      size: e.size,
      inFlight: 0,
      loading: false,
      pinned: false,
      id: rec.id,
      tenant: e.tenant,
      loadCostMs: e.loadCostMs,
      insertedAt: now,
      nextUse: Infinity,
      rec
    }
    rec.shadow[j] = entry
    rec.held++
    sh.used += e.size
    sh.out.delete(rec)
    sh.policy.onInsert(entry, now)
  }

  /** one request seen by the real cache: replay it everywhere, age the scores, re-elect */
  const observe = (rec: Rec, e: Resident, now: number): void => {
    inc *= growth
    if (inc > RESCALE_AT) {
      for (const sh of shadows) sh.score /= inc
      inc = 1
    }
    for (let j = 0; j < k; j++) request(j, rec, e, now)
    if (++seen <= warmup) return
    let best = leader
    let bestScore = shadows[leader]!.score * keep
    for (let j = 0; j < k; j++) {
      if (shadows[j]!.score < bestScore) {
        best = j
        bestScore = shadows[j]!.score
      }
    }
    leader = best
  }

  // the current chooseVictims call's state (kept out here so the filter allocates no closure)
  let walkEvictable: (e: Resident) => boolean = always
  const leaderMay = (se: Resident): boolean => {
    const rec = (se as ShadowEntry).rec
    return rec.real !== undefined && rec.mark !== epoch && walkEvictable(rec.real)
  }

  return {
    name: "meshkit-adaptive",
    onInsert(e, now) {
      let rec = recs.get(e.id)
      if (rec === undefined) {
        rec = { id: e.id, real: undefined, shadow: new Array<ShadowEntry | undefined>(k).fill(undefined), held: 0, mark: 0, pick: 0 }
        recs.set(e.id, rec)
      }
      rec.real = e
      rec.held++

      e.slot = rec
      observe(rec, e, now)
    },
    onHit(e, now) {
      observe(e.slot as Rec, e, now)
    },
    onResize(e, oldSize) {
      const rec = e.slot as Rec
      for (let j = 0; j < k; j++) {
        const se = rec.shadow[j]
        if (se === undefined) continue
        shadows[j]!.used += e.size - se.size
        se.size = e.size
        shadows[j]!.policy.onResize?.(se, oldSize)
      }
    },
    onRemove(e) {
      const rec = e.slot as Rec
      rec.real = undefined
      rec.held--
      for (let j = 0; j < k; j++) shadows[j]!.out.delete(rec)
      // a victim from the leader's own order: the leader evicts it too, now (its shadow has not
      // seen the request yet; asking it again then would move stateful orders such as SIEVE's
      // hand twice and make it diverge from the real cache)
      const se = rec.pick === epoch ? rec.shadow[leader] : undefined
      if (se !== undefined) drop(leader, se)
      else forget(rec)
    },
    chooseVictims(need, now, evictable) {
      epoch++
      const out: Resident[] = []
      let freed = 0
      const lead = shadows[leader]!
      // 1. what the leader has already evicted
      for (const rec of lead.out) {
        if (freed >= need) break
        const e = rec.real!
        if (evictable(e)) {
          rec.mark = epoch
          out.push(e)
          freed += e.size
        }
      }
      // 2. the leader's own order over the residents it still holds
      if (freed < need) {
        walkEvictable = evictable
        const more = lead.policy.chooseVictims(need - freed, now, leaderMay)
        walkEvictable = always
        for (let i = 0; i < more.length && freed < need; i++) {
          const rec = (more[i] as ShadowEntry).rec
          rec.mark = epoch
          rec.pick = epoch
          out.push(rec.real!)
          freed += rec.real!.size
        }
      }
      // 3. shadows and the real cache disagree on sizes or rules: any evictable resident
      if (freed < need) {
        for (const rec of recs.values()) {
          if (freed >= need) break
          const e = rec.real
          if (e !== undefined && rec.mark !== epoch && evictable(e)) {
            rec.mark = epoch
            out.push(e)
            freed += e.size
          }
        }
      }
      return out
    }
  }
}

export const meshkitAdaptivePolicy = definePolicy({
  name: "meshkit-adaptive",
  family: "eviction",
  description:
    "meshkit's own: replays every request on shadow caches of its experts (an LRU/GDSF/probation mix, gdsf, lru, s3fifo, sieve) and evicts as the one with the fewest recent misses would.",
  options: MeshkitAdaptiveOptions,
  make: (o, ctx: BuildContext) => meshkitAdaptive(o, ctx.capacityBytes ?? NaN)
})
