import { describe, expect, it } from "vitest"
import { cacheOf, hit, load, residentIds } from "./eviction-harness.js"

describe("sieve eviction", () => {
  it("spares visited entries once, clearing their bit, and keeps the hand where it stopped", () => {
    const c = cacheOf("sieve", 4)
    ;["a", "b", "c", "d"].forEach((id, t) => load(c, id, 1, t))
    hit(c, "a", 4)
    hit(c, "b", 5)
    // hand starts at the oldest: a and b are spared (bits cleared), c goes; the hand rests at d
    expect(load(c, "e", 1, 6)).toEqual(["c"])
    expect(load(c, "f", 1, 7)).toEqual(["d"])
    // the hand moved on towards the newest (e), not back to the old a/b
    expect(load(c, "g", 1, 8)).toEqual(["e"])
    expect(residentIds(c)).toEqual(["a", "b", "f", "g"])
  })

  it("wraps around to the oldest entry after a full sweep of visited ones", () => {
    const c = cacheOf("sieve", 3)
    ;["a", "b", "c"].forEach((id, t) => load(c, id, 1, t))
    ;["a", "b", "c"].forEach((id, t) => hit(c, id, 3 + t))
    expect(load(c, "d", 1, 6)).toEqual(["a"])
    // b's bit was cleared by the sweep, so it goes next even though it was hit
    expect(load(c, "e", 1, 7)).toEqual(["b"])
  })

  it("does not move entries on a hit (unlike lru)", () => {
    const c = cacheOf("sieve", 3)
    ;["a", "b", "c"].forEach((id, t) => load(c, id, 1, t))
    hit(c, "b", 3)
    expect(load(c, "d", 1, 4)).toEqual(["a"])
    hit(c, "c", 5)
    // hand at b: visited → spared; c visited → spared; d unvisited → evicted
    expect(load(c, "e", 1, 6)).toEqual(["d"])
  })
})
