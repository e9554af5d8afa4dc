import { describe, expect, it } from "vitest"
import { clusterFreeFraction, InstanceViewState, makeRng, ModelActivity, modelLoadStatsState, policyRng, RateWindows, RecencyList, USE_WINDOW_GAP_MS, type RecencyNode } from "@meshkit/core"

const MIN = 60_000
const draws = (r: { next(): number }, n = 5) => Array.from({ length: n }, () => r.next())

describe("policyRng", () => {
  it("reproduces the simulator's original seeds: placement seed, routing +1, scaling +2, exec +3, load +4, eviction +100+instance", () => {
    const seed = 42
    expect(draws(policyRng(seed, "placement"))).toEqual(draws(makeRng(seed)))
    expect(draws(policyRng(seed, "routing"))).toEqual(draws(makeRng(seed + 1)))
    expect(draws(policyRng(seed, "scaling"))).toEqual(draws(makeRng(seed + 2)))
    expect(draws(policyRng(seed, "exec"))).toEqual(draws(makeRng(seed + 3)))
    expect(draws(policyRng(seed, "load"))).toEqual(draws(makeRng(seed + 4)))
    expect(draws(policyRng(seed, "eviction"))).toEqual(draws(makeRng(seed + 100)))
    expect(draws(policyRng(seed, "eviction", 7))).toEqual(draws(makeRng(seed + 107)))
    // the instance only matters for eviction
    expect(draws(policyRng(seed, "routing", 7))).toEqual(draws(makeRng(seed + 1)))
  })
})

describe("rate windows", () => {
  it("count a minute's requests, then fade the previous minute out linearly", () => {
    const r = new RateWindows(2)
    for (let k = 0; k < 60; k++) r.record(0, k * 1000)
    expect(r.rpm(0, 59_999)).toBe(60)
    expect(r.rpm(0, 90_000)).toBeCloseTo(30) // half of the previous minute still in the window
    expect(r.rpm(0, 3 * MIN)).toBe(0)
    expect(r.rpm(1, 0)).toBe(0)
    r.ensure(10)
    r.record(9, 5)
    expect(r.rpm(9, 10)).toBe(1)
    expect(r.rpm(0, 3 * MIN)).toBe(0)
  })
})

describe("model activity", () => {
  it("tracks last use and the start of the current use window, which a long pause restarts", () => {
    const a = new ModelActivity(1)
    a.ensure(3)
    const s = modelLoadStatsState()
    a.record(2, 1000)
    a.record(2, 5 * MIN)
    a.fill(s, 2, 5 * MIN)
    expect(s.lastUsed).toBe(5 * MIN)
    expect(s.firstUsedInWindow).toBe(1000)
    expect(s.rpm).toBe(1)
    a.record(2, 5 * MIN + USE_WINDOW_GAP_MS + 1)
    a.fill(s, 2, 5 * MIN + USE_WINDOW_GAP_MS + 1)
    expect(s.firstUsedInWindow).toBe(5 * MIN + USE_WINDOW_GAP_MS + 1)
    a.fill(s, 0, 0)
    expect(s.lastUsed).toBe(-Infinity)
  })
})

describe("recency list", () => {
  class N implements RecencyNode<N> {
    recencyPrev: N | null = null
    recencyNext: N | null = null
    constructor(readonly name: string) {}
  }
  it("keeps the least recently used node at hand through pushes, moves and unlinks", () => {
    const l = new RecencyList<N>()
    const [a, b, c] = [new N("a"), new N("b"), new N("c")]
    expect(l.oldest()).toBeNull()
    l.pushFront(a)
    l.pushFront(b)
    l.pushFront(c)
    expect(l.oldest()).toBe(a)
    l.moveToFront(a)
    expect(l.oldest()).toBe(b)
    l.unlink(b)
    expect(l.oldest()).toBe(c)
    l.moveToFront(a)
    l.unlink(c)
    expect(l.oldest()).toBe(a)
    l.unlink(a)
    expect(l.oldest()).toBeNull()
  })
})

describe("cluster free fraction", () => {
  it("is the free share of the total capacity", () => {
    const vs = [new InstanceViewState(0, "a", 100, 1), new InstanceViewState(1, "b", 300, 1)]
    vs[0]!.usedBytes = 100
    vs[1]!.usedBytes = 100
    expect(clusterFreeFraction(vs)).toBe(0.5)
    expect(clusterFreeFraction([])).toBe(0)
  })
})
