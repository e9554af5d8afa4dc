import { describe, expect, it } from "vitest"
import { cacheOf, hit, ids, load } from "./eviction-harness.js"

describe("ttl keep-alive", () => {
  const ttl = { name: "ttl", options: { keepAliveMs: 1000 } }

  it("reports a model as due exactly keepAliveMs after its last request, not before", () => {
    const c = cacheOf(ttl, 100)
    load(c, "a", 10, 0)
    load(c, "b", 10, 100)
    hit(c, "a", 500)
    expect(c.policy.nextExpiry!()).toBe(1100)
    expect(ids(c.policy.expired!(1099))).toEqual([])
    expect(ids(c.policy.expired!(1100))).toEqual(["b"])
    expect(ids(c.expire(1100))).toEqual(["b"])
    expect(c.policy.nextExpiry!()).toBe(1500)
    expect(ids(c.expire(1499))).toEqual([])
    expect(ids(c.expire(1500))).toEqual(["a"])
    expect(c.policy.nextExpiry!()).toBe(Infinity)
  })

  it("keeps a due model that is serving, and unloads it at a later check", () => {
    const c = cacheOf(ttl, 100)
    load(c, "a", 10, 0)
    c.get("a")!.inFlight = 1
    expect(ids(c.expire(1600))).toEqual([])
    // a is due but busy: the next expiry reported is a new one, not a's past deadline
    expect(c.policy.nextExpiry!()).toBe(Infinity)
    c.get("a")!.inFlight = 0
    expect(ids(c.expire(1700))).toEqual(["a"])
  })

  it("never reports a pinned model", () => {
    const c = cacheOf(ttl, 100)
    const r = c.admit({ id: "p", tenant: "t", size: 10, loadCostMs: 1, pinned: true }, 0)
    if (r.ok) r.entry.loading = false
    expect(ids(c.expire(10_000))).toEqual([])
  })

  it("behaves as lru under memory pressure", () => {
    const c = cacheOf(ttl, 30)
    ;["a", "b", "c"].forEach((id, t) => load(c, id, 10, t))
    hit(c, "a", 3)
    expect(load(c, "d", 20, 4)).toEqual(["b", "c"])
  })

  it("defaults to a 10-minute keep-alive", () => {
    const c = cacheOf("ttl", 100)
    load(c, "a", 10, 0)
    expect(c.policy.nextExpiry!()).toBe(600_000)
  })
})
