import { buildPolicy, makeRng, ModelCache } from "@meshkit/core"
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { adaptiveMix, AdaptiveMixOptions } from "../src/eviction/adaptive-mix.js"
import { cacheOf, hit, load } from "./eviction-harness.js"

/** a cache run by the adaptive-mix expert alone (what meshkit-adaptive was before it followed experts) */
const mixCache = (options: Record<string, unknown>, capacity: number): ModelCache =>
  new ModelCache(capacity, adaptiveMix(Schema.decodeUnknownSync(AdaptiveMixOptions)(options), capacity))

/** probation share fixed; main's victims by GDSF only (recency share 0) unless told otherwise */
const fixedSplit = (share: number, recency = 0) => ({ probation: share, minProbation: share, maxProbation: share, adaptStep: 0, recency, orderRate: 0 })

/** One request of size 1: a hit if resident, else a load. Returns whether it hit. */
const request = (c: ModelCache, id: string, t: number): boolean => {
  if (c.has(id)) {
    hit(c, id, t)
    return true
  }
  load(c, id, 1, t)
  return false
}

/**
 * On/off traffic: each round a new model bursts (60 requests) and then goes quiet for good,
 * while 7 steady models are requested 3 times each. 10 fit. Returns the steady models' misses.
 */
const burstsThenIdle = (options: Record<string, unknown>, policy?: string): number => {
  const c = policy ? cacheOf(policy, 10) : mixCache(options, 10)
  let t = 0
  let misses = 0
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 60; i++) request(c, `burst-${round}`, t++)
    for (let k = 0; k < 3; k++) for (let i = 0; i < 7; i++) if (!request(c, `steady-${i}`, t++)) misses++
  }
  return misses
}

describe("adaptive-mix, one of meshkit-adaptive's experts", () => {
  it("filters one-hit models in probation and orders main by GDSF priority", () => {
    const c = mixCache(fixedSplit(0.5), 40) // probation 20, main 20
    load(c, "a", 10, 0, { loadCostMs: 100 })
    load(c, "b", 10, 1, { loadCostMs: 10 })
    load(c, "c", 10, 2, { loadCostMs: 50 })
    load(c, "d", 10, 3, { loadCostMs: 1 })
    for (const id of ["a", "b", "c"]) hit(c, id, 4)
    // a, b, c (2 requests) are promoted on their way out of probation; d (1 request) goes
    expect(load(c, "e", 10, 5)).toEqual(["d"])
    // main (30) is over its share: lowest H = hits × cost / size: a 20, b 2, c 10 → b; L = 2
    expect(load(c, "f", 10, 6)).toEqual(["b"])
    hit(c, "c", 7) // H = 2 + 3 × 50 / 10 = 17
    // main (a, c) = 20 is within its share: probation's tail e goes
    expect(load(c, "g", 10, 8)).toEqual(["e"])
    // b comes back from the ghost straight into main (with its 2 requests + 1: H = 2 + 3 = 5)
    expect(load(c, "b", 10, 9, { loadCostMs: 10 })).toEqual(["f"])
    // main (a, c, b) = 30 is over: b has the lowest H; had b entered probation, g would go
    expect(load(c, "h", 10, 10)).toEqual(["b"])
  })

  it("without probation (maxProbation 0, the blend expert) a new model enters main: the cheapest by GDSF goes, not probation's tail", () => {
    const noProbation = { probation: 0, minProbation: 0, maxProbation: 0, adaptStep: 0, recency: 0, orderRate: 0 }
    const c = mixCache(noProbation, 30)
    load(c, "a", 10, 0, { loadCostMs: 100 })
    load(c, "b", 10, 1, { loadCostMs: 100 })
    load(c, "c", 10, 2, { loadCostMs: 1 })
    hit(c, "a", 3)
    // main holds all three and the lowest H = hits × cost / size goes: c (0.1) before b (10) and
    // a (20); then d (H = L 0.1 + 50 / 10 = 5.1) before b
    expect(load(c, "d", 10, 4, { loadCostMs: 50 })).toEqual(["c"])
    expect(load(c, "e", 10, 5, { loadCostMs: 50 })).toEqual(["d"])
    // the same with a probation share: probation's FIFO tail goes, b (a, requested twice, is
    // promoted on the way), though c costs far less to load again
    const p = mixCache(fixedSplit(0.5), 30)
    load(p, "a", 10, 0, { loadCostMs: 100 })
    load(p, "b", 10, 1, { loadCostMs: 100 })
    load(p, "c", 10, 2, { loadCostMs: 1 })
    hit(p, "a", 3)
    expect(load(p, "d", 10, 4, { loadCostMs: 50 })).toEqual(["b"])
  })

  it("grows probation when its victims come back more often than main's", () => {
    const run = (adaptStep: number) => {
      const c = mixCache({ probation: 0.25, minProbation: 0.25, maxProbation: 0.75, adaptStep, recency: 0, orderRate: 0 }, 40)
      ;["a", "b", "c", "d"].forEach((id, t) => load(c, id, 10, t))
      hit(c, "a", 4)
      hit(c, "b", 4)
      expect(load(c, "e", 10, 5)).toEqual(["c"]) // a, b promoted
      expect(load(c, "c", 10, 6)).toEqual(["d"]) // c returns from the ghost into main
      return load(c, "f", 10, 7)
    }
    // learned: probation target 10 → 20, so main (30) is over its 20 and gives up a
    expect(run(1)).toEqual(["a"])
    // fixed: main (30) is within its 30, so probation's e goes
    expect(run(0)).toEqual(["e"])
  })
  it("evicts a finished burst first in recency order, the steadily used model in GDSF order", () => {
    const run = (recency: number) => {
      const c = mixCache(fixedSplit(1 / 3, recency), 30) // probation 10, main 20
      load(c, "burst", 10, 0)
      for (let t = 1; t <= 50; t++) hit(c, "burst", t) // 51 requests, then silence
      load(c, "steady", 10, 60)
      hit(c, "steady", 70)
      load(c, "once", 10, 80)
      // burst and steady are promoted on their way out of probation, once is evicted
      expect(load(c, "y", 10, 90)).toEqual(["once"])
      hit(c, "steady", 95)
      hit(c, "y", 96)
      // y is promoted too: main (30) is over its share and gives up one of its models
      return load(c, "w", 10, 100)
    }
    // GDSF: H = requests × cost / size: burst 5.1, steady 0.3 → steady goes
    expect(run(0)).toEqual(["steady"])
    // recency: burst was last used at t = 50 → burst goes
    expect(run(1)).toEqual(["burst"])
  })

  it("learns to evict by recency when the models GDSF evicts keep coming back (on/off bursts)", () => {
    const learned = burstsThenIdle({})
    const gdsfOnly = burstsThenIdle({ recency: 0, orderRate: 0 })
    const lruOnly = burstsThenIdle({ recency: 1, orderRate: 0 })
    // the 7 first requests miss in any policy; GDSF keeps every finished burst (60 requests each)
    expect(lruOnly).toBe(7)
    expect(gdsfOnly).toBeGreaterThan(30)
    // learning costs a few misses, then it behaves like recency
    expect(learned).toBeLessThanOrEqual(lruOnly + 5)
  })
})

/** a seeded stream of (model, size) over 30 models, Zipf-ish, for the follower tests */
const stream = (n: number, seed: number): Array<readonly [string, number]> => {
  const rng = makeRng(seed)
  return Array.from({ length: n }, () => {
    const m = Math.floor(30 * rng.next() * rng.next())
    return [`m${m}`, 1 + (m % 4)] as const
  })
}

/** replay, logging every eviction */
const evictions = (policy: Parameters<typeof cacheOf>[0], reqs: ReadonlyArray<readonly [string, number]>, capacity: number): string[] => {
  const c = cacheOf(policy, capacity)
  const log: string[] = []
  reqs.forEach(([id, size], t) => {
    if (c.has(id)) hit(c, id, t)
    else log.push(...load(c, id, size, t))
  })
  return log
}

describe("meshkit-adaptive follows the best expert", () => {
  it("with one expert it makes exactly that expert's evictions", () => {
    const reqs = stream(3000, 7)
    for (const expert of ["lru", "sieve", "s3fifo", "gdsf"]) {
      expect(evictions({ name: "meshkit-adaptive", options: { experts: [expert] } }, reqs, 20), expert).toEqual(evictions(expert, reqs, 20))
    }
  })

  it("on on/off bursts it ends up evicting as the better expert (lru) does, not as the mix", () => {
    const follower = burstsThenIdle({}, "meshkit-adaptive")
    const lru = burstsThenIdle({}, "lru")
    expect(lru).toBe(7)
    expect(follower).toBeLessThanOrEqual(lru + 3)
  })

  it("once requests find their models loading (a cluster's cache) it hands the cache to lru for good", () => {
    // the second request finds its model loading, before anything was evicted
    const reqs: Array<readonly [string, number]> = [["m0", 1], ...stream(6000, 11)]
    // each request for a resident finds it loading (busy) or loaded
    const run = (c: ModelCache, busy: boolean): string[] => {
      const log: string[] = []
      reqs.forEach(([id, size], t) => {
        const e = c.get(id)
        if (e === undefined) return void log.push(...load(c, id, size, t))
        e.loading = busy
        c.hit(e, t)
        e.loading = false
      })
      return log
    }
    expect(run(cacheOf("meshkit-adaptive", 20), true)).toEqual(run(cacheOf("lru", 20), true))
    // withLoads names the expert; "none" keeps the leader (no switch while loads are frequent)
    expect(run(cacheOf({ name: "meshkit-adaptive", options: { withLoads: "gdsf" } }, 20), true)).toEqual(run(cacheOf("gdsf", 20), true))
    const mixFirst = ["mix", "gdsf", "lru", "s3fifo", "sieve", "next-arrival"]
    const mix = run(mixCache({}, 20), false)
    expect(run(cacheOf({ name: "meshkit-adaptive", options: { experts: mixFirst, withLoads: "none" } }, 20), true)).toEqual(mix)
    // the same stream with loads done: it follows the scores, away from the mix
    expect(run(cacheOf({ name: "meshkit-adaptive", options: { experts: mixFirst } }, 20), false)).not.toEqual(mix)
  })

  it("scores a hashed sample once the cache holds many models, and follows the better expert on a scan", () => {
    // 4,000 models of size 1 fit (sampled 1/4: 2 × 512 ≤ 4,000 / 4); a scan of 1,500 one-off models
    // after each two passes over a 3,000-model core: the mix's probation filters the scan (only
    // compulsory misses), while next-arrival, which leads at first, lets each scan evict the core
    const reqs: Array<readonly [string, number]> = []
    const rounds = 6
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < 3000; i++) reqs.push([`core-${i}`, 1])
      for (let i = 0; i < 3000; i++) reqs.push([`core-${i}`, 1])
      for (let i = 0; i < 1500; i++) reqs.push([`scan-${round}-${i}`, 1])
    }
    const perRound = reqs.length / rounds
    /** misses in all, and in the last round */
    const missesOf = (policy: Parameters<typeof cacheOf>[0]) => {
      const c = cacheOf(policy, 4000)
      let all = 0
      let last = 0
      reqs.forEach(([id, size], t) => {
        if (c.has(id)) return void hit(c, id, t)
        all++
        if (t >= reqs.length - perRound) last++
        load(c, id, size, t)
      })
      return { all, last }
    }
    const mix = missesOf({ name: "meshkit-adaptive", options: { experts: ["mix"] } })
    const na = missesOf("next-arrival")
    expect(na.all).toBeGreaterThan(mix.all * 1.5)
    const adaptive = missesOf("meshkit-adaptive")
    // by the last round it evicts as the mix does; learning that cost under 10 % more misses in all
    expect(adaptive.last).toBe(mix.last)
    expect(adaptive.all).toBeLessThanOrEqual(mix.all * 1.1)
  })

  it("is deterministic and rejects an unknown expert naming the option", () => {
    const reqs = stream(2000, 9)
    expect(evictions("meshkit-adaptive", reqs, 15)).toEqual(evictions("meshkit-adaptive", reqs, 15))
    expect(() => buildPolicy("eviction", { name: "meshkit-adaptive", options: { experts: ["nope"] } }, { rng: makeRng(1), capacityBytes: 10 })).toThrow(/experts/)
  })
})
