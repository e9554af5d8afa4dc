import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { buildPolicy, makeRng, policiesOf, type CopyView, type RoutingPolicy } from "@meshkit/core"

const copy = (inFlight: number, maxConcurrency = 4, instanceId = `i${inFlight}`): CopyView => ({ instanceId, inFlight, maxConcurrency })
const copies = (...inFlight: number[]): CopyView[] => inFlight.map((f, i) => copy(f, 4, `i${i}`))

const build = (name: string, options: Record<string, unknown> = {}, seed = 1): RoutingPolicy =>
  buildPolicy("routing", { name, options }, { rng: makeRng(seed) })

const tally = (p: RoutingPolicy, cs: CopyView[], n: number, model = "m") => {
  const counts = new Array<number>(cs.length).fill(0)
  for (let i = 0; i < n; i++) counts[p.choose(cs, i, model)]!++
  return counts
}

const names = policiesOf("routing").map((d) => d.name)

describe("routing registry", () => {
  it("registers least-in-flight, power-of-two-choices and round-robin", () => {
    expect(names).toEqual(["least-in-flight", "power-of-two-choices", "round-robin"])
  })
  it("rejects a bad option with an error naming the field", () => {
    expect(() => build("least-in-flight", { ties: "sometimes" })).toThrow(/ties/)
    expect(() => build("round-robin", { start: 1 })).toThrow(/start/)
  })
})

describe("least-in-flight routing", () => {
  it("sends the request to the copy with the fewest requests in flight", () => {
    expect(tally(build("least-in-flight"), copies(3, 1, 2), 20)).toEqual([0, 20, 0])
  })

  it("prefers a copy with a free concurrency slot over a less busy one that would queue", () => {
    const cs = [copy(1, 1, "full"), copy(3, 8, "roomy")]
    expect(tally(build("least-in-flight"), cs, 20)).toEqual([0, 20])
  })

  it("breaks ties with the seeded rng, or takes the first with ties: first", () => {
    const random = tally(build("least-in-flight"), copies(2, 1, 1), 1000)
    expect(random[0]).toBe(0)
    expect(random[1]).toBeGreaterThan(400)
    expect(random[2]).toBeGreaterThan(400)
    expect(tally(build("least-in-flight", { ties: "first" }), copies(2, 1, 1), 50)).toEqual([0, 50, 0])
  })
})

describe("power-of-two-choices routing", () => {
  it("with two copies always takes the less busy one", () => {
    expect(tally(build("power-of-two-choices"), copies(5, 2), 50)).toEqual([0, 50])
  })

  it("with three copies never takes the busiest and takes the least busy about 2 times in 3", () => {
    const counts = tally(build("power-of-two-choices"), copies(9, 0, 4), 3000)
    expect(counts[0]).toBe(0)
    expect(counts[1]).toBeGreaterThan(1800)
    expect(counts[1]).toBeLessThan(2200)
  })
})

describe("round-robin routing", () => {
  it("rotates over the copies in order", () => {
    const p = build("round-robin")
    const cs = copies(0, 0, 0)
    expect(Array.from({ length: 7 }, (_, i) => p.choose(cs, i, "m"))).toEqual([0, 1, 2, 0, 1, 2, 0])
  })

  it("keeps a separate rotation per model, so interleaved models are each spread", () => {
    const p = build("round-robin")
    const cs = copies(0, 0)
    const seen = { a: [] as number[], b: [] as number[] }
    for (let i = 0; i < 6; i++) for (const m of ["a", "b"] as const) seen[m].push(p.choose(cs, i, m))
    expect(seen.a).toEqual([0, 1, 0, 1, 0, 1])
    expect(seen.b).toEqual([0, 1, 0, 1, 0, 1])
  })

  it("stays valid when the number of copies shrinks", () => {
    const p = build("round-robin")
    p.choose(copies(0, 0, 0), 0, "m")
    p.choose(copies(0, 0, 0), 1, "m") // next would be 2
    expect(p.choose(copies(0, 0), 2, "m")).toBe(0)
  })
})

// ---- properties ----

const copyArb = fc.record({
  instanceId: fc.string({ maxLength: 4 }),
  inFlight: fc.integer({ min: 0, max: 50 }),
  maxConcurrency: fc.integer({ min: 1, max: 16 })
})
const copiesArb = fc.array(copyArb, { minLength: 1, maxLength: 12 })

describe("routing properties", () => {
  it.each(names)("%s always returns a valid index", (name) => {
    const p = build(name, {}, 3)
    fc.assert(
      fc.property(copiesArb, fc.option(fc.constantFrom("a", "b", "c"), { nil: undefined }), (cs, model) => {
        const i = p.choose(cs, 0, model)
        return Number.isInteger(i) && i >= 0 && i < cs.length
      }),
      { numRuns: 1000 }
    )
  })

  it.each(names)("%s makes the same choices for the same seed", (name) => {
    fc.assert(
      fc.property(fc.array(copiesArb, { minLength: 1, maxLength: 30 }), fc.integer(), (calls, seed) => {
        const a = build(name, {}, seed)
        const b = build(name, {}, seed)
        return calls.every((cs, t) => a.choose(cs, t, "m") === b.choose(cs, t, "m"))
      }),
      { numRuns: 200 }
    )
  })

  it("least-in-flight never picks a copy that a strictly better one beats", () => {
    const p = build("least-in-flight")
    fc.assert(
      fc.property(copiesArb, (cs) => {
        const c = cs[p.choose(cs, 0)]!
        const queued = (x: CopyView) => x.inFlight >= x.maxConcurrency
        return cs.every((x) => queued(x) > queued(c) || (queued(x) === queued(c) && x.inFlight >= c.inFlight))
      }),
      { numRuns: 1000 }
    )
  })

  it("round-robin serves every copy exactly once over any n consecutive calls", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 100 }), (n, warmup) => {
        const p = build("round-robin")
        const cs = Array.from({ length: n }, (_, i) => copy(0, 1, `i${i}`))
        for (let i = 0; i < warmup; i++) p.choose(cs, i, "m")
        const counts = tally(p, cs, n)
        return counts.every((c) => c === 1)
      })
    )
  })
})
