import { describe, expect, it } from "vitest"
import { buildPolicy, makeRng, ModelCache, type AdmitResult, type TenantShares } from "@meshkit/core"

const cache = (capacity: number, shares?: TenantShares, policy = "lru"): ModelCache =>
  new ModelCache(capacity, buildPolicy("eviction", policy, { rng: makeRng(1), capacityBytes: capacity }), shares ? { shares } : undefined)

/** Admit and finish the load; returns the admission result. */
const load = (c: ModelCache, id: string, tenant: string, size: number, now: number): AdmitResult => {
  const r = c.admit({ id, tenant, size, loadCostMs: 1 }, now)
  if (r.ok) r.entry.loading = false
  return r
}
const evictedIds = (r: AdmitResult): string[] => (r.ok ? r.evicted.map((e) => e.id).sort() : [])
const ids = (c: ModelCache): string[] => [...c.residents()].map((e) => e.id).sort()

describe("fair memory shares in ModelCache", () => {
  it("a flooding tenant over its share cannot evict a tenant within its share", () => {
    const c = cache(100, new Map([["steady", 40]]))
    load(c, "s1", "steady", 20, 0)
    load(c, "s2", "steady", 20, 1)
    // the flood fills the idle 60 bytes, then only recycles its own models
    for (let i = 0; i < 20; i++) {
      const r = load(c, `f${i}`, "flood", 20, 2 + i)
      expect(r.ok).toBe(true)
      for (const v of r.ok ? r.evicted : []) expect(v.tenant).toBe("flood")
    }
    expect(c.usedBy("steady")).toBe(40)
    expect(c.usedBy("flood")).toBe(60)
    expect(c.used).toBe(100)
  })

  it("without shares the same flood evicts the steady tenant (lru order)", () => {
    const c = cache(100)
    load(c, "s1", "steady", 20, 0)
    load(c, "s2", "steady", 20, 1)
    for (let i = 0; i < 5; i++) load(c, `f${i}`, "flood", 20, 2 + i)
    expect(c.usedBy("steady")).toBe(0)
  })

  it("idle share can be borrowed, and borrowed bytes go first when the owner needs them", () => {
    const c = cache(100, new Map([["a", 50], ["b", 50]]))
    load(c, "b1", "b", 30, 0)
    load(c, "b2", "b", 30, 1)
    load(c, "b3", "b", 30, 2) // b borrows 40 bytes of a's idle share
    expect(c.usedBy("b")).toBe(90)
    load(c, "a1", "a", 10, 3) // fits in the free 10
    // a is within its share: b's models go (lru order inside b) while b is over its share
    const r = load(c, "a2", "a", 30, 4)
    expect(evictedIds(r)).toEqual(["b1"])
    const r2 = load(c, "a3", "a", 10, 5)
    expect(evictedIds(r2)).toEqual(["b2"]) // b at 60 > 50: still a borrower
    expect(c.usedBy("b")).toBe(30)
    // b is now within its share: a's next model beyond its own share only recycles a's models
    const r3 = load(c, "a4", "a", 30, 6)
    expect(r3.ok).toBe(true)
    for (const v of r3.ok ? r3.evicted : []) expect(v.tenant).toBe("a")
    expect(c.usedBy("b")).toBe(30)
  })

  it("a tenant within its share reclaims its own models only after borrowed bytes are gone", () => {
    const c = cache(100, new Map([["a", 60], ["b", 40]]))
    load(c, "a1", "a", 20, 0) // oldest: first in lru order
    load(c, "b1", "b", 40, 1)
    load(c, "b2", "b", 30, 2) // b borrows 30
    c.get("b2")!.inFlight = 1 // serving: it cannot go
    // a needs 10: b1 may go (b over its share, 70 > 40); a's own a1 is older but comes after
    expect(evictedIds(load(c, "a2", "a", 20, 3))).toEqual(["b1"])
    load(c, "b3", "b", 30, 4) // b borrows again (fits in the free 30)
    c.get("b3")!.inFlight = 1
    // a needs 20, within its share; b is over it but busy: a falls back on its own, in order
    expect(evictedIds(load(c, "a3", "a", 20, 5))).toEqual(["a1"])
    expect(ids(c)).toEqual(["a2", "a3", "b2", "b3"])
  })

  it("an over-share tenant gets no-room when only protected bytes could make room; nothing is evicted", () => {
    const c = cache(100, new Map([["a", 50], ["b", 50]]))
    load(c, "a1", "a", 50, 0)
    load(c, "b1", "b", 50, 1)
    c.get("a1")!.inFlight = 1 // a may only recycle its own bytes, and a1 is serving
    const r = c.admit({ id: "a2", tenant: "a", size: 10, loadCostMs: 1 }, 2)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).toBe("no-room")
    expect(ids(c)).toEqual(["a1", "b1"])
    c.get("a1")!.inFlight = 0
    expect(evictedIds(load(c, "a2", "a", 10, 3))).toEqual(["a1"])
  })

  it("an over-share tenant takes only borrowed bytes: a victim must leave its tenant at its share", () => {
    const c = cache(100, new Map([["steady", 30]]))
    load(c, "s1", "steady", 20, 0)
    load(c, "s2", "steady", 20, 1) // steady is 10 over its share, in models of 20
    load(c, "f1", "flood", 60, 2)
    c.get("f1")!.inFlight = 1
    // evicting s1 would leave steady at 20 < 30: refused
    const r = c.admit({ id: "f2", tenant: "flood", size: 20, loadCostMs: 1 }, 3)
    expect(r.ok).toBe(false)
    expect(c.usedBy("steady")).toBe(40)
  })

  it("a growing model takes room under the same rule", () => {
    const c = cache(100, new Map([["a", 50], ["b", 50]]))
    load(c, "a1", "a", 40, 0)
    load(c, "b1", "b", 50, 1)
    const a1 = c.get("a1")!
    expect(c.resize(a1, 60, 2)).toBeNull() // a would go over its share; b is within its own
    const b1 = c.get("b1")!
    c.resize(b1, 55, 3) // b borrows 5 of a's idle share
    expect(c.usedBy("b")).toBe(55)
    load(c, "b2", "b", 5, 4) // recycles nothing: fits in the free 5
    // a grows within its share: borrowed bytes go first (b1, oldest in lru, b over its share)
    const out = c.resize(a1, 50, 5)
    expect(out?.map((e) => e.id)).toEqual(["b1"])
    expect(c.usedBy("a")).toBe(50)
    expect(c.used).toBeLessThanOrEqual(100)
  })

  it("shares must be byte counts that fit the capacity, and errors name the tenant", () => {
    expect(() => cache(100, new Map([["a", 60], ["b", 50]]))).toThrow(/add up to 110 bytes, more than the cache capacity of 100/)
    expect(() => cache(100, new Map([["a", -1]]))).toThrow(/tenant "a" must be a byte count/)
    expect(() => cache(100, new Map([["a", Number.NaN]]))).toThrow(/tenant "a"/)
  })

  it("reports its shares and per-tenant usage with and without shares", () => {
    const plain = cache(100)
    load(plain, "x", "t", 30, 0)
    expect(plain.shares.size).toBe(0)
    expect(plain.usedBy("t")).toBe(30)
    const shared = cache(100, new Map([["t", 10]]))
    load(shared, "x", "t", 30, 0)
    expect(shared.shares.get("t")).toBe(10)
    expect(shared.usedBy("t")).toBe(30)
    shared.remove("x")
    expect(shared.usedBy("t")).toBe(0)
  })
})
