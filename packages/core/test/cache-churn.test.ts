import { describe, expect, it } from "vitest"
import { buildPolicy, makeRng, ModelCache } from "../src/index.js"
import { cacheOf, hit, load, residentIds } from "./eviction-harness.js"

// The cache keeps an id's key after it leaves (and sweeps those keys now and then); from the
// outside, a model that left must look exactly like one never seen.
describe("ModelCache under churn", () => {
  it("forgets evicted and removed models, and takes them back", () => {
    const c = cacheOf("lru", 30)
    load(c, "a", 10, 0)
    load(c, "b", 10, 1)
    load(c, "c", 10, 2)
    expect(load(c, "d", 10, 3)).toEqual(["a"])
    expect(c.get("a")).toBeUndefined()
    expect(c.has("a")).toBe(false)
    expect(c.remove("a")).toBeUndefined()
    expect(c.remove("b")?.id).toBe("b")
    expect(c.has("b")).toBe(false)
    expect([c.count, c.used]).toEqual([2, 20])
    expect(residentIds(c)).toEqual(["c", "d"])
    expect(load(c, "a", 10, 4)).toEqual([])
    expect(c.get("a")?.insertedAt).toBe(4)
    expect([c.count, c.used]).toEqual([3, 30])
    expect(residentIds(c)).toEqual(["a", "c", "d"])
  })

  it("stays consistent across many evictions of many ids (past the sweeps of forgotten ids)", () => {
    const c = cacheOf("lru", 100)
    const live = new Set<string>()
    for (let t = 0; t < 20_000; t++) {
      // 5,000 ids, 10 resident at a time: most requests miss and evict
      const id = `m${(t * 7919) % 5000}`
      if (c.has(id)) {
        hit(c, id, t)
        continue
      }
      for (const gone of load(c, id, 10, t)) live.delete(gone)
      live.add(id)
      expect(c.count).toBe(live.size)
    }
    expect(residentIds(c)).toEqual([...live].sort())
    expect(c.used).toBe(10 * live.size)
    for (let m = 0; m < 5000; m++) expect(c.has(`m${m}`)).toBe(live.has(`m${m}`))
  })

  it("files residents by the caller's integer keys (options.keyOf) with the same answers as by id", () => {
    for (const policy of ["lru", "gdsf", "s3fifo"]) {
      const byId = cacheOf(policy, 100)
      const key = (id: string): number => Number(id.slice(1))
      const byKey = new ModelCache(100, buildPolicy("eviction", policy, { rng: makeRng(1), capacityBytes: 100 }), { keyOf: key })
      for (let t = 0; t < 5000; t++) {
        const id = `m${(t * 7919) % 300}`
        if (byId.has(id)) {
          expect(byKey.has(id)).toBe(true)
          hit(byId, id, t)
          hit(byKey, id, t)
        } else if (t % 97 === 0 && byId.count > 0) {
          // a removal by id, as scaling's scale-down does
          const some = residentIds(byId)[0]!
          expect(byKey.remove(some)?.id).toBe(some)
          byId.remove(some)
        } else {
          const size = 5 + (t % 20)
          // half the admissions pass the key, the others leave it to keyOf
          const k = t % 2 === 0 ? { key: key(id) } : {}
          const a = byId.admit({ id, tenant: "t", size, loadCostMs: 1 }, t)
          const b = byKey.admit({ id, tenant: "t", size, loadCostMs: 1, ...k }, t)
          expect(b.ok).toBe(a.ok)
          if (a.ok && b.ok) {
            expect(b.evicted.map((e) => e.id)).toEqual(a.evicted.map((e) => e.id))
            expect(b.entry.key).toBe(key(id))
            a.entry.loading = b.entry.loading = false
          }
        }
        expect([byKey.count, byKey.used]).toEqual([byId.count, byId.used])
      }
      expect(residentIds(byKey)).toEqual(residentIds(byId))
      for (let m = 0; m < 300; m++) expect(byKey.get(`m${m}`)?.id).toBe(byId.get(`m${m}`)?.id)
    }
  })
})
