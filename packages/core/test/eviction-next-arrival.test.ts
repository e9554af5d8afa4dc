import { describe, expect, it } from "vitest"
import { cacheOf, hit, load } from "./eviction-harness.js"

/** requests for resident `id` at each of `times` */
const hits = (c: ReturnType<typeof cacheOf>, id: string, times: number[]): void => {
  for (const t of times) hit(c, id, t)
}

describe("next-arrival eviction", () => {
  it("evicts the model whose next request is predicted furthest away, not the least recently used", () => {
    const c = cacheOf("next-arrival", 100)
    load(c, "every-10ms", 50, 5)
    load(c, "every-100ms", 50, 0)
    hits(c, "every-10ms", [15, 25, 35, 45, 55, 65, 75, 85, 95]) // next at 105
    hit(c, "every-100ms", 100) // next at 200
    // LRU would evict every-10ms (last used at 95, before 100)
    expect(load(c, "new", 50, 101)).toEqual(["every-100ms"])
  })

  it("weighs the wait by size: of two models due at the same time, the larger goes", () => {
    const c = cacheOf("next-arrival", 100)
    load(c, "small", 30, 0)
    load(c, "large", 60, 0)
    hit(c, "small", 50)
    hit(c, "large", 50) // both next at 100
    expect(load(c, "new", 40, 60)).toEqual(["large"])
  })

  it("lets a model that stopped age out: overdue, it waits as long as it has been idle", () => {
    const c = cacheOf("next-arrival", 100)
    load(c, "stopped", 50, 0)
    hits(c, "stopped", [10, 20, 30]) // due at 40, never came again
    load(c, "slow", 50, 0)
    hit(c, "slow", 500) // gap 500: due at 1000
    // at 1200 both are overdue: stopped has been idle 1170 ms, slow 700 ms
    expect(load(c, "new", 50, 1200)).toEqual(["stopped"])
  })

  it("remembers a model's gaps after evicting it", () => {
    const c = cacheOf("next-arrival", 100)
    load(c, "periodic", 50, 0)
    hits(c, "periodic", [100, 200]) // gap 100: due at 300
    load(c, "filler", 50, 210) // one request: judged by its idle time
    expect(load(c, "other", 50, 250)).toEqual(["periodic"]) // periodic due in 50 ms, filler idle 40 ms
    expect(load(c, "periodic", 50, 300)).toEqual(["filler"]) // idle 90 ms against other's 50
    hit(c, "other", 340) // gap 90: due at 430
    // periodic is due at 400 because its gap of 100 ms was kept; forgotten, its 90 ms idle would
    // outweigh other's 40 ms to go
    expect(load(c, "late", 50, 390)).toEqual(["other"])
  })

  it("rejects unknown option values with a clear error", () => {
    expect(() => cacheOf({ name: "next-arrival", options: { samples: 0 } }, 100)).toThrow(/next-arrival.*samples/s)
  })
})
