import { buildPolicy, ClusterSignal, makeRng, ModelCache } from "@meshkit/core"
import { describe, expect, it } from "vitest"
import { hit, load } from "./eviction-harness.js"

/** a cache of one instance of a 2-instance cluster, its policy built with the cluster's signal */
const instanceCache = (signal: ClusterSignal, policy: string | { name: string; options: Record<string, unknown> } = ADAPTIVE): ModelCache =>
  new ModelCache(signal.capacityBytes, buildPolicy("eviction", policy, { rng: makeRng(1), capacityBytes: signal.capacityBytes, cluster: signal }))

const ADAPTIVE = { name: "meshkit-adaptive", options: { warmup: 100 } }

/** the cluster receives `ids` (size 1, load cost 1), one per ms from `t0`; returns the next time */
const feed = (signal: ClusterSignal, ids: readonly string[], t0: number): number => {
  let t = t0
  for (const id of ids) signal.request(id, "t", 1, 1, t++)
  return t
}

/**
 * frequency wins: 10 hot models (3 requests in a row each) beside 15 one-off models a round;
 * 25 > the cluster's 20, so lru misses every hot model each round, gdsf none
 */
const hotAndOneOffs = (rounds: number): string[] => {
  const out: string[] = []
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 10; i++) out.push(`hot-${i}`, `hot-${i}`, `hot-${i}`)
    for (let i = 0; i < 15; i++) out.push(`once-${r}-${i}`)
  }
  return out
}

/** recency wins: each round a new model bursts (50 requests) and goes quiet, beside 15 steady ones */
const bursts = (rounds: number): string[] => {
  const out: string[] = []
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 50; i++) out.push(`burst-${r}`)
    for (let i = 0; i < 15; i++) out.push(`steady-${i}`)
  }
  return out
}

/**
 * The instance's cache after real loads (one request finds its model loading): "a" is used 5
 * times first, then b..j once each; which one goes for the next model says which expert runs it
 * (lru: a, the least recent; gdsf: not a, the most frequent).
 */
const victimAfterLoads = (c: ModelCache, t0: number, p = ""): string[] => {
  let t = t0
  load(c, `${p}a`, 1, t++)
  for (let i = 0; i < 4; i++) hit(c, `${p}a`, t++)
  for (const id of ["b", "c", "d", "e", "f", "g", "h", "i", "j"]) load(c, p + id, 1, t++)
  const e = c.get(`${p}b`)!
  e.loading = true // a request that finds its model still loading: a cluster's cache
  c.hit(e, t++)
  e.loading = false
  return load(c, `${p}k`, 1, t++)
}

/** a loop over 25 models, larger than the cluster's 20: lru misses every request, next-arrival few */
const loop = (rounds: number): string[] => {
  const out: string[] = []
  for (let r = 0; r < rounds; r++) for (let i = 0; i < 25; i++) out.push(`loop-${i}`)
  return out
}

/** real loads at t: a request finds "z" loading (z is then unloaded): the cache settles */
const seesALoad = (c: ModelCache, t: number): void => {
  load(c, "z", 1, t)
  const z = c.get("z")!
  z.loading = true
  c.hit(z, t + 0.5)
  z.loading = false
  c.remove("z")
}

/**
 * Which of lru, gdsf and next-arrival runs the instance's cache, by the victim each would choose:
 * after real loads are seen (a request finds "z" loading; z is then unloaded), "slow" is requested
 * at t and t + 30 (due again at t + 60), "p" every 10 ms up to t + 25 (due at t + 35), then 8
 * models once each, filling the cache; at
 * t + 34 lru evicts p (the least recent), gdsf f0 (the fewest hits, oldest), next-arrival slow
 * (due furthest away).
 */
const victimOfThree = (c: ModelCache, t0: number): string[] => {
  seesALoad(c, t0)
  const t = t0 + 1
  load(c, "slow", 1, t)
  load(c, "p", 1, t + 5)
  hit(c, "p", t + 15)
  hit(c, "p", t + 25)
  hit(c, "slow", t + 30)
  for (let i = 0; i < 8; i++) load(c, `f${i}`, 1, t + 31 + i * 0.1)
  return load(c, "new", 1, t + 34)
}

describe("ClusterSignal: the cluster-wide request stream", () => {
  it("tells every listener each request, shares one object per key, and rejects a bad cluster", () => {
    const s = new ClusterSignal(2, 10)
    expect(s.listening).toBe(false)
    const seen: string[] = []
    s.listen((id, tenant, size, cost, now) => seen.push(`${id}/${tenant}/${size}/${cost}/${now}`))
    expect(s.listening).toBe(true)
    s.request("m", "t", 3, 7, 11)
    expect(seen).toEqual(["m/t/3/7/11"])
    let made = 0
    const a = s.shared("k", () => ({ n: ++made }))
    expect(s.shared("k", () => ({ n: ++made }))).toBe(a)
    expect(made).toBe(1)
    expect(() => new ClusterSignal(0, 10)).toThrow(/instances/)
    expect(() => new ClusterSignal(2, 0)).toThrow(/capacity/)
  })

  it("only meshkit-adaptive listens, once for all the cluster's instances", () => {
    const quiet = new ClusterSignal(2, 10)
    instanceCache(quiet, "lru")
    expect(quiet.listening).toBe(false)
    const s = new ClusterSignal(2, 10)
    const caches = [instanceCache(s), instanceCache(s)]
    expect(caches.length).toBe(2)
    let calls = 0
    s.listen(() => calls++)
    s.request("m", "t", 1, 1, 0)
    expect(calls).toBe(1)
  })
})

describe("meshkit-adaptive in a cluster follows the cluster-wide scores", () => {
  it("hands its cache to gdsf where the cluster's traffic says frequency wins", () => {
    const s = new ClusterSignal(2, 10)
    const c = instanceCache(s)
    const t = feed(s, hotAndOneOffs(200), 0)
    expect(victimAfterLoads(c, t)).not.toEqual(["a"])
  })

  it("hands its cache to next-arrival where the cluster's models come back at steady intervals", () => {
    const s = new ClusterSignal(2, 10)
    const c = instanceCache(s)
    const t = feed(s, loop(200), 0)
    expect(victimOfThree(c, t)).toEqual(["slow"])
    // the probe tells the three apart: run by lru or gdsf from the start, the victims differ
    expect(victimOfThree(new ModelCache(10, buildPolicy("eviction", "lru", { rng: makeRng(1) })), t)).toEqual(["p"])
    expect(victimOfThree(new ModelCache(10, buildPolicy("eviction", "gdsf", { rng: makeRng(1) })), t)).toEqual(["f0"])
  })

  it("keeps lru where recency wins (on/off bursts), as without the signal", () => {
    const s = new ClusterSignal(2, 10)
    const c = instanceCache(s)
    const t = feed(s, bursts(100), 0)
    expect(victimAfterLoads(c, t)).toEqual(["a"])
    // without a signal: lru for good once loads are seen
    const alone = new ModelCache(10, buildPolicy("eviction", ADAPTIVE, { rng: makeRng(1), capacityBytes: 10 }))
    expect(victimAfterLoads(alone, t)).toEqual(["a"])
  })

  it("switches an instance that already settled when the cluster's traffic changes", () => {
    const s = new ClusterSignal(2, 10)
    const c = instanceCache(s)
    let t = feed(s, bursts(100), 0)
    expect(victimAfterLoads(c, t)).toEqual(["a"])
    t = feed(s, hotAndOneOffs(400), t + 100)
    // the next request the instance sees makes it follow the new choice: "2-a" (5 hits) stays
    expect(victimAfterLoads(c, t + 100, "2-")).not.toEqual(["2-a"])
  })

  it("takes gdsf when the whole cluster holds the working set (no memory pressure there)", () => {
    const s = new ClusterSignal(2, 10)
    const c = instanceCache(s)
    const ids: string[] = []
    for (let r = 0; r < 200; r++) for (let i = 0; i < 18; i++) ids.push(`m-${i}`)
    const t = feed(s, ids, 0)
    expect(victimAfterLoads(c, t)).not.toEqual(["a"])
  })

  it("hands next-arrival the gaps learnt while another expert ran the cache", () => {
    // the cluster's choice is lru at first (on/off bursts); the instance settles on it
    const s = new ClusterSignal(2, 10)
    const c = instanceCache(s)
    const t = feed(s, bursts(100), 0)
    seesALoad(c, t)
    // under lru the instance sees "slow" every 30 ms and "p" every 10 (due at t + 61 and t + 36)
    load(c, "slow", 1, t + 1)
    load(c, "p", 1, t + 6)
    hit(c, "p", t + 16)
    hit(c, "p", t + 26)
    hit(c, "slow", t + 31)
    for (let i = 0; i < 8; i++) load(c, `f${i}`, 1, t + 32 + i * 0.1)
    // then the cluster's traffic becomes a loop, within a fraction of a millisecond: next-arrival
    let u = t + 33
    for (let r = 0; r < 400; r++) for (let i = 0; i < 25; i++) s.request(`loop-${i}`, "t", 1, 1, (u += 1e-4))
    hit(c, "f7", t + 34.9) // the instance follows the new choice at its next request
    // next-arrival with the gaps learnt evicts "slow" (due furthest away); one knowing no gaps
    // would judge by idle time alone, as lru does, and evict "p"
    expect(load(c, "new", 1, t + 35)).toEqual(["slow"])
  })

  it("keeps lru when next-arrival's missed bytes exceed lru's by more than nextArrivalBytes", () => {
    const s = new ClusterSignal(2, 10)
    const c = instanceCache(s, { name: "meshkit-adaptive", options: { warmup: 100, nextArrivalBytes: 0 } })
    const t = feed(s, loop(200), 0)
    expect(victimOfThree(c, t)).toEqual(["p"])
  })

  it("ignores the signal with cluster: off (lru once loads are seen)", () => {
    const s = new ClusterSignal(2, 10)
    const c = instanceCache(s, { name: "meshkit-adaptive", options: { warmup: 100, cluster: "off" } })
    expect(s.listening).toBe(false)
    feed(s, hotAndOneOffs(200), 0)
    expect(victimAfterLoads(c, 10_000)).toEqual(["a"])
  })
})
