import { describe, expect, it } from "vitest"
import { buildPolicy, makeRng } from "@meshkit/core"
import { cacheOf, hit, load } from "./eviction-harness.js"

describe("s3fifo eviction", () => {
  it("evicts one-hit models from the small queue and promotes those requested twice", () => {
    const c = cacheOf("s3fifo", 100) // small 10, main 90, ghost 90
    ;"abcdefghij".split("").forEach((id, t) => load(c, id, 10, t))
    hit(c, "a", 10)
    hit(c, "a", 11)
    hit(c, "b", 12)
    // small's tail a (freq 2) moves to main; b (freq 1) is evicted into the ghost
    expect(load(c, "k", 10, 13)).toEqual(["b"])
    // b returns from the ghost straight into main, and the small queue gives up c
    expect(load(c, "b", 10, 14)).toEqual(["c"])
  })

  it("reinserts main entries with frequency left (CLOCK), and ghosts go to main", () => {
    const c = cacheOf({ name: "s3fifo", options: { smallFraction: 0.5 } }, 40) // small 20, main 20
    ;["a", "b", "c", "d"].forEach((id, t) => load(c, id, 10, t))
    for (const id of ["a", "b", "c"]) {
      hit(c, id, 4)
      hit(c, id, 5)
    }
    expect(load(c, "e", 10, 6)).toEqual(["d"]) // a, b, c promoted; main = c b a (30 > 20)
    hit(c, "a", 7)
    // main over its share: tail a has freq 1 → back to the head with 0; b (freq 0) goes
    expect(load(c, "f", 10, 8)).toEqual(["b"])
    // main (a, c) = 20 is not over its share: evict from small (e); d (ghost) enters main
    expect(load(c, "d", 10, 9)).toEqual(["e"])
    // main (d a c) = 30 is over: its tail c goes; had d entered small, small's f would have
    expect(load(c, "g", 10, 10)).toEqual(["c"])
  })

  it("needs the cache capacity at build time", () => {
    expect(() => buildPolicy("eviction", "s3fifo", { rng: makeRng(1) })).toThrow(/capacity/)
  })
})
