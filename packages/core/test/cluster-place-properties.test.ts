import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  buildPolicy,
  InstanceViewState,
  Placer,
  policiesOf,
  policyRng,
  type Admission,
  type ModelSpec,
  type PlacementRequest
} from "@meshkit/core"

/** One instance as the property sees it before placement. */
interface Inst {
  readonly capacity: number
  readonly used: number
  readonly hasModel: boolean
  readonly shuttingDown: boolean
  readonly loading: number
  readonly inFlight: number
  readonly rpm: number
  readonly lruTime: number
  readonly zone: "a" | "b"
  /** its cache refuses the model (everything evictable there is busy) */
  readonly refuses: boolean
}

const instArb: fc.Arbitrary<Inst> = fc.record({
  capacity: fc.integer({ min: 1, max: 100 }),
  used: fc.integer({ min: 0, max: 100 }),
  hasModel: fc.boolean(),
  shuttingDown: fc.boolean(),
  loading: fc.integer({ min: 0, max: 3 }),
  inFlight: fc.integer({ min: 0, max: 5 }),
  rpm: fc.integer({ min: 0, max: 500 }),
  lruTime: fc.integer({ min: 0, max: 1000 }),
  zone: fc.constantFrom("a" as const, "b" as const),
  refuses: fc.boolean()
})

const scenario = fc.record({
  insts: fc.array(instArb, { minLength: 1, maxLength: 8 }),
  size: fc.integer({ min: 1, max: 120 }),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
  requireZone: fc.boolean()
})

const spec = (sizeBytes: number): ModelSpec => ({
  id: "m",
  tenant: "t",
  format: "onnx",
  uri: "",
  sizeBytes,
  loadCostMs: 100,
  labels: {},
  pinned: false,
  minCopies: 1,
  maxCopies: 4
})

const viewsOf = (insts: readonly Inst[]): InstanceViewState[] =>
  insts.map((s, i) => {
    const v = new InstanceViewState(i, `i${i}`, s.capacity, 2)
    v.usedBytes = Math.min(s.used, s.capacity)
    v.hasModel = s.hasModel
    v.shuttingDown = s.shuttingDown
    v.loadingCount = s.loading
    v.inFlight = s.inFlight
    v.rpm = s.rpm
    v.lruTime = s.lruTime
    v.labels = { zone: s.zone }
    return v
  })

/** An admission that refuses where the scenario says so and logs every instance it was asked about. */
const admissionOf = (insts: readonly Inst[]) => {
  const asked: number[] = []
  const admission: Admission<InstanceViewState> = {
    admit(v) {
      asked.push(v.index)
      return !insts[v.index]!.refuses
    }
  }
  return { admission, asked }
}

const eligible = (s: Inst, size: number, requireZone: boolean): boolean =>
  !s.hasModel && !s.shuttingDown && s.capacity >= size && (!requireZone || s.zone === "a")

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never

const run = (policy: string, sc: Scenario) => {
  const placer = new Placer(buildPolicy("placement", policy, { rng: policyRng(sc.seed, "placement") }))
  const views = viewsOf(sc.insts)
  const req: PlacementRequest = { model: spec(sc.size), sizeBytes: sc.size, ...(sc.requireZone ? { required: { zone: "a" } } : {}) }
  const { admission, asked } = admissionOf(sc.insts)
  const chosen = placer.place(req, views, 5000, admission)
  return { chosen, asked, views }
}

describe.each(policiesOf("placement").map((d) => d.name))("place with placement policy %s", (policy) => {
  it("never places on a shutting-down instance, one holding the model, one too small or off-label; asks each instance at most once", () => {
    fc.assert(
      fc.property(scenario, (sc) => {
        const { chosen, asked } = run(policy, sc)
        for (const i of asked) expect(eligible(sc.insts[i]!, sc.size, sc.requireZone)).toBe(true)
        expect(new Set(asked).size).toBe(asked.length)
        if (chosen !== undefined) {
          expect(eligible(sc.insts[chosen.index]!, sc.size, sc.requireZone)).toBe(true)
          expect(sc.insts[chosen.index]!.refuses).toBe(false)
          expect(asked[asked.length - 1]).toBe(chosen.index)
        }
      }),
      { numRuns: 300 }
    )
  })

  it("gives up only after every eligible instance refused", () => {
    fc.assert(
      fc.property(scenario, (sc) => {
        const { chosen, asked } = run(policy, sc)
        if (chosen !== undefined) return
        const wanted = sc.insts.flatMap((s, i) => (eligible(s, sc.size, sc.requireZone) ? [i] : []))
        expect([...asked].sort()).toEqual(wanted)
      }),
      { numRuns: 300 }
    )
  })

  it("restores refused instances and reserves the load on the chosen one", () => {
    fc.assert(
      fc.property(scenario, (sc) => {
        const { chosen, views } = run(policy, sc)
        views.forEach((v, i) => {
          const s = sc.insts[i]!
          if (v === chosen) {
            expect(v.hasModel).toBe(true)
            expect(v.loadingCount).toBe(s.loading + 1)
            expect(v.usedBytes).toBe(Math.min(s.used, s.capacity) + sc.size)
          } else {
            expect(v.hasModel).toBe(s.hasModel)
            expect(v.loadingCount).toBe(s.loading)
          }
        })
      }),
      { numRuns: 300 }
    )
  })

  it("same seed, same choices", () => {
    fc.assert(
      fc.property(scenario, (sc) => {
        const a = run(policy, sc)
        const b = run(policy, sc)
        expect(b.asked).toEqual(a.asked)
        expect(b.chosen?.index).toBe(a.chosen?.index)
      }),
      { numRuns: 200 }
    )
  })
})
