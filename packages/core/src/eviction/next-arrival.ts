import { Schema } from "effect"
import { definePolicy } from "../registry.js"
import type { ModelId, Resident } from "../domain.js"
import type { Rng } from "../rng.js"
import type { EvictionPolicy } from "./policy.js"

export const NextArrivalOptions = Schema.Struct({
  /** residents looked at per victim (the victim is the worst of them) */
  samples: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(1, 1024)), { default: () => 64 }),
  /** weight of the newest gap in the per-model mean gap (exponentially weighted) */
  gapWeight: Schema.optionalWith(Schema.Number.pipe(Schema.between(0.01, 1)), { default: () => 0.5 }),
  /** models whose arrival history is kept, as a multiple of the residents (at least 1,024) */
  history: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThanOrEqualTo(1)), { default: () => 8 }),
  /**
   * what a miss costs: "uniform" = 1 (minimises the request miss ratio, Belady-size's rule), "load"
   * = the model's loadCostMs (minimises the time requests spend waiting for loads)
   */
  cost: Schema.optionalWith(Schema.Literal("uniform", "load"), { default: () => "uniform" as const })
})
export type NextArrivalOptions = typeof NextArrivalOptions.Type

/** a gap this many times the mean starts a new burst (see the header) */
const JUMP = 4

/** what is known of a model's arrivals, resident or not */
interface Arrivals {
  last: number
  /** mean gap between its requests (ms), NaN until it has had two */
  gap: number
}

/**
 * Next-arrival: evict the model whose next request is predicted furthest away, weighted by its
 * size — Belady-size's rule with the future replaced by a forecast. Functions and models serving
 * timers, polls and batch jobs are requested at steady intervals (the Azure Functions trace is
 * dominated by them: Shahrad et al., ATC '20), so a model's mean gap between requests, kept per
 * model across evictions, predicts its next request well. A gap over JUMP times the mean is the
 * start of a new burst, not the new normal (on/off traffic: the off time would otherwise predict
 * the next request of a burst that has just begun far away, and evict it first): it only doubles
 * the mean, so a model that really slowed down is followed within a few requests. The expected
 * wait is `last + gap − now` while that is ahead; once a model is overdue, the longer of its gap and its idle time (a model
 * that stopped ages out as under LRU; one never requested twice is judged by its idle time alone).
 * A victim is the resident with the largest expected wait × size among `samples` residents drawn
 * with the seeded rng (sampled eviction, as in Redis, LHD and LRB: the score depends on the time,
 * so no ordered structure could hold it); the next victims of the same call are drawn afresh.
 * O(1) per request, O(samples) per victim; memory: one record per model in the history.
 */
export const nextArrival = (options: NextArrivalOptions, rng: Rng): EvictionPolicy => {
  const residents: Resident[] = []
  const history = new Map<ModelId, Arrivals>()
  const w = options.gapWeight
  const k = options.samples
  const byLoad = options.cost === "load"

  const arrived = (id: ModelId, now: number): void => {
    let a = history.get(id)
    if (a === undefined) {
      a = { last: now, gap: NaN }
      const limit = Math.max(1024, options.history * residents.length)
      // forget the models requested longest ago (a Map iterates in insertion order, and an
      // arrival re-inserts its model at the end)
      if (history.size >= limit) for (const old of history.keys()) if (history.delete(old) && history.size < limit) break
    } else {
      history.delete(id)
      const g = now - a.last
      if (g > 0) a.gap = a.gap !== a.gap ? g : g > JUMP * a.gap ? 2 * a.gap : w * g + (1 - w) * a.gap
      a.last = now
    }
    history.set(id, a)
  }

  /** expected ms until e's next request × its size: the byte-time keeping it costs */
  const cost = (e: Resident, now: number): number => {
    const a = history.get(e.id)
    const idle = now - e.lastUsed
    let wait = idle
    if (a !== undefined && a.gap === a.gap) {
      const ahead = a.last + a.gap - now
      wait = ahead > 0 ? ahead : Math.max(a.gap, idle)
    }
    return byLoad ? ((wait + 1) * e.size) / Math.max(1, e.loadCostMs) : (wait + 1) * e.size
  }

  /** e.slot: its index in `residents` (swapped with the last one on removal) */
  const drop = (e: Resident): void => {
    const i = e.slot as number
    const last = residents.pop()!
    if (last !== e) {
      residents[i] = last
      last.slot = i
    }
  }

  return {
    name: "next-arrival",
    onInsert(e, now) {
      e.slot = residents.length
      residents.push(e)
      arrived(e.id, now)
    },
    onHit(e, now) {
      arrived(e.id, now)
    },
    onRemove(e) {
      drop(e)
    },
    chooseVictims(need, now, evictable) {
      const out: Resident[] = []
      const taken = new Set<Resident>()
      let freed = 0
      // every resident once, in the worst case (all sampled ones busy or taken)
      let budget = residents.length * 4
      while (freed < need && taken.size < residents.length && budget > 0) {
        let worst: Resident | undefined
        let worstCost = -1
        for (let j = 0; j < k && budget > 0; j++, budget--) {
          const e = residents[rng.int(residents.length)]!
          if (taken.has(e) || !evictable(e)) continue
          const c = cost(e, now)
          if (c > worstCost) {
            worstCost = c
            worst = e
          }
        }
        if (worst === undefined) continue
        taken.add(worst)
        out.push(worst)
        freed += worst.size
      }
      if (freed < need) {
        // sampling missed some: finish with a full pass, worst first
        const rest = residents.filter((e) => !taken.has(e) && evictable(e))
        rest.sort((a, b) => cost(b, now) - cost(a, now))
        for (let i = 0; i < rest.length && freed < need; i++) {
          out.push(rest[i]!)
          freed += rest[i]!.size
        }
      }
      return out
    }
  }
}

export const nextArrivalPolicy = definePolicy({
  name: "next-arrival",
  family: "eviction",
  description:
    "Belady-size with a forecast: evict the sampled resident with the largest (predicted time to its next request) × size, predicted from its mean gap between requests.",
  options: NextArrivalOptions,
  make: (o, ctx) => nextArrival(o, ctx.rng)
})
