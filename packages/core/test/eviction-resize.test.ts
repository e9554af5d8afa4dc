import { describe, expect, it } from "vitest"
import { ModelCache, type EvictionPolicy, type Resident } from "@meshkit/core"
import { Schema } from "effect"
import { adaptiveMix, AdaptiveMixOptions } from "../src/eviction/adaptive-mix.js"
import { cacheOf, hit, load } from "./eviction-harness.js"

/** An lru-like policy that records what the cache tells it about sizes. */
const recording = () => {
  const order: Resident[] = []
  const resized: Array<[string, number, number]> = []
  const policy: EvictionPolicy = {
    name: "recording",
    onInsert: (e) => void order.push(e),
    onHit: () => {},
    onRemove: (e) => void order.splice(order.indexOf(e), 1),
    onResize: (e, oldSize) => void resized.push([e.id, oldSize, e.size]),
    chooseVictims: (need, _now, evictable) => {
      const out: Resident[] = []
      let freed = 0
      for (const e of order) {
        if (freed >= need) break
        if (evictable(e)) {
          out.push(e)
          freed += e.size
        }
      }
      return out
    }
  }
  return { policy, resized }
}

describe("ModelCache.resize tells the policy", () => {
  it("calls onResize with the old size once the new one is in place", () => {
    const { policy, resized } = recording()
    const c = new ModelCache(100, policy)
    c.admit({ id: "a", tenant: "t", size: 30, loadCostMs: 1 }, 0)
    c.resize(c.get("a")!, 20, 1) // shrink
    c.resize(c.get("a")!, 50, 2) // grow within the free bytes
    expect(resized).toEqual([
      ["a", 30, 20],
      ["a", 20, 50]
    ])
  })

  it("calls it after evicting for a growth, and not at all when the model no longer fits", () => {
    const { policy, resized } = recording()
    const c = new ModelCache(100, policy)
    c.admit({ id: "old", tenant: "t", size: 40, loadCostMs: 1 }, 0)
    c.get("old")!.loading = false
    c.admit({ id: "a", tenant: "t", size: 40, loadCostMs: 1 }, 1)
    expect(c.resize(c.get("a")!, 70, 2)!.map((e) => e.id)).toEqual(["old"])
    expect(resized).toEqual([["a", 40, 70]])
    expect(c.resize(c.get("a")!, 101, 3)).toBeNull()
    expect(resized).toHaveLength(1)
    expect(c.get("a")!.size).toBe(70)
  })
})

// Both policies below choose their queue by its byte count, so a growth that pushes main over
// its share must count at once (before, the count caught up only at the model's next hit).
describe("per-queue byte counts follow a resize at once", () => {
  it("s3fifo: a main model grown over main's share is evicted before the small queue", () => {
    const c = cacheOf("s3fifo", 100) // small 10, main 90
    load(c, "a", 40, 0)
    hit(c, "a", 1)
    hit(c, "a", 2)
    load(c, "b", 40, 3)
    expect(load(c, "c", 30, 4)).toEqual(["b"]) // a (2 hits) moves to main, b goes
    expect(c.resize(c.get("a")!, 95, 5)!.map((e) => e.id)).toEqual(["c"])
    load(c, "d", 5, 6) // fits: small = d, main = a (95 > 90)
    expect(load(c, "e", 10, 7)).toEqual(["a"]) // main is over its share; d stays
  })

  it("adaptive-mix (meshkit-adaptive's expert): a main model grown over main's share is evicted before probation", () => {
    const c = new ModelCache(100, adaptiveMix(Schema.decodeUnknownSync(AdaptiveMixOptions)({ adaptStep: 0 }), 100)) // probation 5, main 95
    load(c, "a", 40, 0)
    hit(c, "a", 1) // 2 requests: promoted when probation's tail is next walked
    load(c, "b", 40, 2)
    expect(load(c, "c", 30, 3)).toEqual(["b"])
    expect(c.resize(c.get("a")!, 96, 4)!.map((e) => e.id)).toEqual(["c"])
    load(c, "d", 4, 5) // fits: probation = d, main = a (96 > 95)
    expect(load(c, "e", 3, 6)).toEqual(["a"])
  })
})
