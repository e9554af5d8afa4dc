import { describe, expect, it } from "vitest"
import { buildPolicy, makeRng, ModelCache } from "@meshkit/core"

const cacheWith = (policy: string, capacity: number) =>
  new ModelCache(capacity, buildPolicy("eviction", policy, { rng: makeRng(1) }))

const admitLoaded = (c: ModelCache, id: string, size: number, now: number) => {
  const r = c.admit({ id, tenant: "t", size, loadCostMs: 1 }, now)
  if (r.ok) r.entry.loading = false
  return r
}

describe("ModelCache shared rules", () => {
  it("refuses a model larger than the capacity and evicts nothing for it", () => {
    const c = cacheWith("lru", 100)
    admitLoaded(c, "a", 60, 0)
    const r = c.admit({ id: "big", tenant: "t", size: 101, loadCostMs: 1 }, 1)
    expect(r).toMatchObject({ ok: false, reason: "too-large" })
    expect(c.has("a")).toBe(true)
    expect(c.used).toBe(60)
  })

  it("never evicts a loading, serving or pinned model", () => {
    const c = cacheWith("lru", 100)
    const a = c.admit({ id: "a", tenant: "t", size: 40, loadCostMs: 1 }, 0) // still loading
    const b = admitLoaded(c, "b", 30, 1)
    const p = c.admit({ id: "p", tenant: "t", size: 30, loadCostMs: 1, pinned: true }, 2)
    if (!a.ok || !b.ok || !p.ok) throw new Error("setup")
    p.entry.loading = false
    b.entry.inFlight = 1
    expect(c.admit({ id: "x", tenant: "t", size: 10, loadCostMs: 1 }, 3)).toMatchObject({ ok: false, reason: "no-room" })
    expect([...c.residents()].map((e) => e.id).sort()).toEqual(["a", "b", "p"])
  })

  it("evicts only what is needed, oldest first under lru", () => {
    const c = cacheWith("lru", 100)
    for (const [i, id] of ["a", "b", "c", "d"].entries()) admitLoaded(c, id, 25, i)
    c.hit(c.get("a")!, 10)
    const r = c.admit({ id: "e", tenant: "t", size: 30, loadCostMs: 1 }, 11)
    expect(r.ok && r.evicted.map((e) => e.id)).toEqual(["b", "c"])
    expect(c.used).toBe(80)
  })

  it("fifo ignores hits", () => {
    const c = cacheWith("fifo", 100)
    for (const [i, id] of ["a", "b", "c", "d"].entries()) admitLoaded(c, id, 25, i)
    c.hit(c.get("a")!, 10)
    const r = c.admit({ id: "e", tenant: "t", size: 25, loadCostMs: 1 }, 11)
    expect(r.ok && r.evicted.map((e) => e.id)).toEqual(["a"])
  })
})
