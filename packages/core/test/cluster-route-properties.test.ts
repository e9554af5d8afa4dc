import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { buildPolicy, policiesOf, policyRng, route, type CopyView } from "@meshkit/core"

const copiesArb = fc.array(
  fc.record({ inFlight: fc.integer({ min: 0, max: 20 }), maxConcurrency: fc.integer({ min: 1, max: 8 }) }),
  { minLength: 1, maxLength: 6 }
)
/** a run of requests: which model, and the load on its copies at that moment */
const requestsArb = fc.array(fc.record({ model: fc.constantFrom("a", "b", "c"), copies: copiesArb }), { minLength: 1, maxLength: 60 })

const views = (cs: ReadonlyArray<{ inFlight: number; maxConcurrency: number }>): CopyView[] =>
  cs.map((c, i) => ({ instanceId: `i${i}`, ...c }))

type Requests = typeof requestsArb extends fc.Arbitrary<infer T> ? T : never

const choices = (policy: string, seed: number, reqs: Requests) => {
  const p = buildPolicy("routing", policy, { rng: policyRng(seed, "routing") })
  return reqs.map((r, t) => route(p, views(r.copies), r.model, t))
}

describe.each(policiesOf("routing").map((d) => d.name))("route with routing policy %s", (policy) => {
  it("always picks one of the copies; one copy is picked without asking the policy", () => {
    fc.assert(
      fc.property(requestsArb, fc.nat(), (reqs, seed) => {
        choices(policy, seed, reqs).forEach((i, k) => {
          expect(Number.isInteger(i)).toBe(true)
          expect(i).toBeGreaterThanOrEqual(0)
          expect(i).toBeLessThan(reqs[k]!.copies.length)
        })
      })
    )
    const refuse = { name: "x", choose: () => -1 }
    expect(route(refuse, views([{ inFlight: 3, maxConcurrency: 1 }]), "a", 0)).toBe(0)
  })

  it("same seed, same choices", () => {
    fc.assert(fc.property(requestsArb, fc.nat(), (reqs, seed) => {
        expect(choices(policy, seed, reqs)).toEqual(choices(policy, seed, reqs))
      })
    )
  })
})

describe("route with round-robin", () => {
  it("rotates each model over its own copies, however the models interleave", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("a", "b"), { minLength: 1, maxLength: 80 }), fc.integer({ min: 2, max: 5 }), (order, n) => {
        const p = buildPolicy("routing", "round-robin", { rng: policyRng(1, "routing") })
        const copies = views(Array.from({ length: n }, () => ({ inFlight: 0, maxConcurrency: 4 })))
        const seen: Record<string, number[]> = { a: [], b: [] }
        order.forEach((m, t) => seen[m]!.push(route(p, copies, m, t)))
        for (const picks of Object.values(seen)) picks.forEach((i, k) => expect(i).toBe(k % n))
      })
    )
  })
})
