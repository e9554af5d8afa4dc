import { describe, expect, it } from "vitest"
import { cacheOf, hit, load, residentIds } from "./eviction-harness.js"

describe("lfu eviction", () => {
  it("evicts the least frequently used, ties to the least recently used", () => {
    const c = cacheOf("lfu", 100)
    ;["a", "b", "c", "d"].forEach((id, t) => load(c, id, 25, t))
    hit(c, "a", 4)
    hit(c, "b", 5)
    hit(c, "a", 6)
    hit(c, "d", 7)
    // counts: a 3, b 2, c 1, d 2
    expect(load(c, "e", 25, 8)).toEqual(["c"])
    // e (1 request) is now the least frequent
    expect(load(c, "f", 25, 9)).toEqual(["e"])
    hit(c, "f", 10)
    // b, d and f have 2 requests each; b was used longest ago, then d
    expect(load(c, "g", 50, 11)).toEqual(["b", "d"])
    expect(residentIds(c)).toEqual(["a", "f", "g"])
  })

  it("forgets the count of an evicted model (in-cache frequency)", () => {
    const c = cacheOf("lfu", 50)
    load(c, "a", 25, 0)
    for (let t = 1; t <= 5; t++) hit(c, "a", t)
    load(c, "b", 25, 6)
    hit(c, "b", 7)
    expect(load(c, "x", 50, 8)).toEqual(["b", "a"])
    load(c, "a", 25, 9) // back with a count of 1
    load(c, "b", 25, 10)
    hit(c, "b", 11)
    expect(load(c, "y", 25, 12)).toEqual(["a"])
  })
})
