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

/** what is learnt of a model's requests: its last one, and the mean gap between them */
export interface Gaps {
  last: number
  /** mean gap between its requests (ms), NaN until it has had two */
  gap: number
}

/**
 * A request for the model at `now`: its gap joins the mean with weight `w`; a gap over JUMP
 * times the mean starts a new burst and only doubles it (see the header).
 */
export const noteArrival = (a: Gaps, now: number, w: number): void => {
  const g = now - a.last
  if (g > 0) a.gap = a.gap !== a.gap ? g : g > JUMP * a.gap ? 2 * a.gap : w * g + (1 - w) * a.gap
  if (now > a.last) a.last = now
}

/** what is known of a model's arrivals, resident or not */
interface Arrivals extends Gaps {
  resident: boolean
  /** the chooseVictims call that last took it (so one call takes it once) */
  taken: number
}

/**
 * Next-arrival: evict the model whose next request is predicted furthest away, weighted by its
 * size — Belady-size's rule with the future replaced by a forecast. Functions and models serving
 * timers, polls and batch jobs are requested at steady intervals (the Azure Functions trace is
 * dominated by them: Shahrad et al., ATC '20), so a model's mean gap between requests, kept per
 * model across evictions, predicts its next request well.
 *
 * A gap over JUMP times the mean is the start of a new burst, not the new normal (on/off traffic:
 * the off time would otherwise predict the next request of a burst that has just begun far away,
 * and evict it first): it only doubles the mean, so a model that really slowed down is followed
 * within a few requests. The expected wait is `last + gap − now` while that is ahead; once a
 * model is overdue, the longer of its gap and its idle time (a model that stopped ages out as
 * under LRU; one never requested twice is judged by its idle time alone).
 *
 * A victim is the resident with the largest expected wait × size (÷ load time with cost "load")
 * among `samples` residents drawn with the seeded rng — sampled eviction, as in Redis, LHD and
 * LRB: the score moves with the time, so no ordered structure could hold it; the next victims of
 * the same call are drawn afresh. O(1) per request, O(samples) per victim (a full pass only when
 * sampling keeps finding busy residents); memory: one record per model in the history.
 */
export const nextArrival = (options: NextArrivalOptions, rng: Rng, learnt?: ReadonlyMap<ModelId, Gaps>): EvictionPolicy => {
  // e.slot: the resident's index here (swapped with the last one on removal); its arrivals beside
  const residents: Resident[] = []
  const arrivals: Arrivals[] = []
  // (a successor's start: what its predecessor learnt, see meshkit-adaptive)
  const history = new Map<ModelId, Arrivals>()
  if (learnt !== undefined) for (const [id, g] of learnt) history.set(id, { last: g.last, gap: g.gap, resident: false, taken: 0 })
  const w = options.gapWeight
  const k = options.samples
  const byLoad = options.cost === "load"
  let call = 0

  const arrived = (a: Arrivals, now: number): void => noteArrival(a, now, w)

  /**
   * Past its limit, the history forgets the half of its non-resident models requested longest
   * ago: a sort every (limit / 2) new models, O(log n) per new model on average.
   */
  const prune = (): void => {
    const limit = Math.max(1024, options.history * residents.length)
    if (history.size <= limit) return
    const lasts: number[] = []
    for (const a of history.values()) if (!a.resident) lasts.push(a.last)
    lasts.sort((x, y) => x - y)
    const cut = lasts[Math.min(lasts.length - 1, Math.floor(lasts.length / 2))]!
    for (const [id, a] of history) if (!a.resident && a.last <= cut) history.delete(id)
  }

  /** expected ms until the next request × size (or per ms of load): what keeping it costs */
  const cost = (i: number, now: number): number => {
    const e = residents[i]!
    const a = arrivals[i]!
    const idle = now - a.last
    let wait = idle
    if (a.gap === a.gap) {
      const ahead = a.last + a.gap - now
      wait = ahead > 0 ? ahead : Math.max(a.gap, idle)
    }
    return byLoad ? ((wait + 1) * e.size) / Math.max(1, e.loadCostMs) : (wait + 1) * e.size
  }

  return {
    name: "next-arrival",
    onInsert(e, now) {
      let a = history.get(e.id)
      if (a === undefined) {
        a = { last: now, gap: NaN, resident: true, taken: 0 }
        history.set(e.id, a)
        prune()
      } else {
        arrived(a, now)
        a.resident = true
      }
      e.slot = residents.length
      residents.push(e)
      arrivals.push(a)
    },
    onHit(e, now) {
      arrived(arrivals[e.slot as number]!, now)
    },
    onRemove(e) {
      const i = e.slot as number
      arrivals[i]!.resident = false
      const last = residents.pop()!
      const la = arrivals.pop()!
      if (last !== e) {
        residents[i] = last
        arrivals[i] = la
        last.slot = i
      }
    },
    chooseVictims(need, now, evictable) {
      const out: Resident[] = []
      const id = ++call
      const n = residents.length
      let freed = 0
      let taken = 0
      // about every resident once before giving up on sampling (most of them busy or taken)
      let budget = n * 4
      while (freed < need && taken < n && budget > 0) {
        let worst = -1
        let worstCost = -1
        for (let j = 0; j < k && budget > 0; j++, budget--) {
          const i = rng.int(n)
          if (arrivals[i]!.taken === id || !evictable(residents[i]!)) continue
          const c = cost(i, now)
          if (c > worstCost) {
            worstCost = c
            worst = i
          }
        }
        if (worst < 0) continue
        arrivals[worst]!.taken = id
        taken++
        out.push(residents[worst]!)
        freed += residents[worst]!.size
      }
      if (freed < need) {
        // sampling missed some: finish with a full pass, worst first
        const rest: number[] = []
        for (let i = 0; i < n; i++) if (arrivals[i]!.taken !== id && evictable(residents[i]!)) rest.push(i)
        const costs = rest.map((i) => cost(i, now))
        const order = rest.map((_, j) => j).sort((x, y) => costs[y]! - costs[x]!)
        for (let j = 0; j < order.length && freed < need; j++) {
          const e = residents[rest[order[j]!]!]!
          out.push(e)
          freed += e.size
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
