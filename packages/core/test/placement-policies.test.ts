import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  buildPolicy,
  makeRng,
  policiesOf,
  PolicyConfigError,
  type InstanceView,
  type ModelSpec,
  type PlacementPolicy,
  type PlacementRequest
} from "@meshkit/core"
import { isEligible, matchCount } from "../src/placement/constraints.js"

const MiB = 1024 ** 2

const inst = (id: string, o: Partial<InstanceView> = {}): InstanceView => ({
  id,
  capacityBytes: 1000 * MiB,
  usedBytes: 0,
  labels: {},
  loadingCount: 0,
  maxConcurrentLoads: 2,
  inFlight: 0,
  modelCount: 0,
  lruTime: Infinity,
  rpm: 0,
  shuttingDown: false,
  hasModel: false,
  ...o
})

const model = (id: string, sizeBytes = 100 * MiB): ModelSpec => ({
  id,
  tenant: "t",
  format: "onnx",
  uri: `file:///${id}.onnx`,
  sizeBytes,
  loadCostMs: 100,
  labels: {},
  pinned: false,
  minCopies: 0,
  maxCopies: 5
})

const place = (id: string, sizeBytes = 100 * MiB, extra: Partial<PlacementRequest> = {}): PlacementRequest => ({
  model: model(id, sizeBytes),
  sizeBytes,
  ...extra
})

const build = (name: string, options: Record<string, unknown> = {}, seed = 1): PlacementPolicy =>
  buildPolicy("placement", { name, options }, { rng: makeRng(seed) })

/** How often each instance is chosen over `n` calls on the same (unchanging) view. */
const tally = (p: PlacementPolicy, req: PlacementRequest, instances: InstanceView[], n: number) => {
  const counts: Record<string, number> = {}
  for (let i = 0; i < n; i++) {
    const id = p.choose(req, instances, 1_000_000)?.id ?? "none"
    counts[id] = (counts[id] ?? 0) + 1
  }
  return counts
}

const names = policiesOf("placement").map((d) => d.name)

describe("placement registry", () => {
  it("registers the five placement policies", () => {
    expect(names).toEqual(["modelmesh", "least-loaded", "most-free-space", "power-of-two-choices", "consistent-hash-bounded"])
  })

  it("rejects an unknown option with an error naming the field", () => {
    let err: unknown
    try {
      buildPolicy("placement", { name: "modelmesh", options: { bad: 1 } }, { rng: makeRng(1) })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(PolicyConfigError)
    expect((err as PolicyConfigError).message).toMatch(/\["bad"\][\s\S]*unexpected/)
  })

  it("rejects an out-of-range option with an error naming the field", () => {
    expect(() => build("consistent-hash-bounded", { epsilon: -1 })).toThrow(/epsilon/)
    expect(() => build("power-of-two-choices", { by: "luck" })).toThrow(/by/)
  })
})

describe("modelmesh placement", () => {
  it("puts a model where it fits without eviction before any full instance", () => {
    const p = build("modelmesh")
    const a = inst("a", { usedBytes: 990 * MiB, lruTime: 0, modelCount: 9 }) // 10 MiB free: full for 100 MiB
    const b = inst("b", { usedBytes: 700 * MiB, lruTime: 500, modelCount: 7 }) // 300 MiB free
    expect(tally(p, place("m"), [a, b], 50)).toEqual({ b: 50 })
  })

  it("when every instance is full, evicts on the one whose cache went unused longest", () => {
    const p = build("modelmesh")
    const a = inst("a", { usedBytes: 950 * MiB, lruTime: 900_000, modelCount: 5 })
    const b = inst("b", { usedBytes: 990 * MiB, lruTime: 50_000, modelCount: 5 }) // less free, but staler
    expect(tally(p, place("m"), [a, b], 50)).toEqual({ b: 50 })
  })

  it("shortlists instances within 10 % of the most free space and picks among them at random", () => {
    const p = build("modelmesh")
    const a = inst("a", { usedBytes: 200 * MiB }) // 800 free: best
    const b = inst("b", { usedBytes: 600 * MiB }) // 400 free: far behind
    const c = inst("c", { usedBytes: 210 * MiB }) // 790 free: within 10 % of 800
    const counts = tally(p, place("m"), [a, b, c], 1000)
    expect(counts.b).toBeUndefined()
    expect(counts.a).toBeGreaterThan(400)
    expect(counts.c).toBeGreaterThan(400)
  })

  it("spreads loads over equal instances instead of herding onto the first (modelmesh#469)", () => {
    const p = build("modelmesh")
    const four = ["a", "b", "c", "d"].map((id) => inst(id))
    const counts = tally(p, place("m"), four, 4000)
    for (const id of ["a", "b", "c", "d"]) expect(counts[id]).toBeGreaterThan(850)
  })

  it("counts loads in progress: skips an instance whose load slots are all busy", () => {
    const p = build("modelmesh")
    const busy = inst("busy", { loadingCount: 2, maxConcurrentLoads: 2 })
    const idle = inst("idle", { usedBytes: 20 * MiB })
    expect(tally(p, place("m"), [busy, idle], 100)).toEqual({ idle: 100 })
  })

  it("drops an overloaded instance from the shortlist (rpm far above the minimum)", () => {
    const p = build("modelmesh")
    const hot = inst("hot", { rpm: 10_000 })
    const calm = inst("calm", { rpm: 100 })
    expect(tally(p, place("m"), [hot, calm], 100)).toEqual({ calm: 100 })
    // within overloadFactor × min + slack (2 × 100 + 60) both stay eligible
    const warm = inst("warm", { rpm: 250 })
    const counts = tally(p, place("m"), [warm, calm], 400)
    expect(counts.warm).toBeGreaterThan(100)
    expect(counts.calm).toBeGreaterThan(100)
  })

  it("with tolerance 0 only instances with exactly the most free space share the load", () => {
    const p = build("modelmesh", { shortlistTolerance: 0 })
    const a = inst("a", { usedBytes: 100 * MiB, lruTime: 10 })
    const b = inst("b", { usedBytes: 100 * MiB, lruTime: 5 })
    const c = inst("c", { usedBytes: 101 * MiB, lruTime: 0 }) // 1 MiB less free
    const counts = tally(p, place("m"), [a, b, c], 400)
    expect(counts.c).toBeUndefined()
    expect(counts.a).toBeGreaterThan(100)
    expect(counts.b).toBeGreaterThan(100)
  })

  it("never places a model larger than an instance's whole capacity", () => {
    const p = build("modelmesh")
    const small = inst("small", { capacityBytes: 50 * MiB })
    expect(p.choose(place("m", 60 * MiB), [small], 0)).toBeUndefined()
    const big = inst("big", { capacityBytes: 2000 * MiB, usedBytes: 1990 * MiB, lruTime: 0, modelCount: 3 })
    expect(p.choose(place("m", 60 * MiB), [small, big], 0)?.id).toBe("big")
  })
})

describe("least-loaded placement", () => {
  it("picks the fewest in-flight requests, then the fewest loads in progress", () => {
    const p = build("least-loaded")
    const a = inst("a", { inFlight: 3 })
    const b = inst("b", { inFlight: 1, loadingCount: 2 })
    const c = inst("c", { inFlight: 1, loadingCount: 0, usedBytes: 900 * MiB })
    expect(tally(p, place("m"), [a, b, c], 20)).toEqual({ c: 20 })
  })

  it("breaks exact ties at random rather than always taking the first", () => {
    const counts = tally(build("least-loaded"), place("m"), [inst("a"), inst("b"), inst("c", { inFlight: 1 })], 900)
    expect(counts.c).toBeUndefined()
    expect(counts.a).toBeGreaterThan(300)
    expect(counts.b).toBeGreaterThan(300)
  })
})

describe("most-free-space placement", () => {
  it("picks the most free bytes, then the fewest loads in progress", () => {
    const p = build("most-free-space")
    const a = inst("a", { usedBytes: 300 * MiB })
    const b = inst("b", { usedBytes: 100 * MiB, loadingCount: 1 })
    const c = inst("c", { usedBytes: 100 * MiB, loadingCount: 0, inFlight: 50 })
    const d = inst("d", { capacityBytes: 2000 * MiB, usedBytes: 1500 * MiB }) // 500 free
    expect(tally(p, place("m"), [a, b, c, d], 20)).toEqual({ c: 20 })
  })
})

describe("power-of-two-choices placement", () => {
  it("with two candidates always takes the one with more free space", () => {
    const p = build("power-of-two-choices")
    expect(tally(p, place("m"), [inst("a", { usedBytes: 500 * MiB }), inst("b")], 50)).toEqual({ b: 50 })
  })

  it("by load takes the one with fewer in-flight requests + loads", () => {
    const p = build("power-of-two-choices", { by: "load" })
    const a = inst("a", { inFlight: 1, loadingCount: 1 })
    const b = inst("b", { usedBytes: 900 * MiB, inFlight: 1 })
    expect(tally(p, place("m"), [a, b], 50)).toEqual({ b: 50 })
  })

  it("with three candidates never picks the worst and picks the best in about 2 of 3 draws", () => {
    const p = build("power-of-two-choices")
    const best = inst("best")
    const mid = inst("mid", { usedBytes: 300 * MiB })
    const worst = inst("worst", { usedBytes: 600 * MiB })
    const counts = tally(p, place("m"), [worst, mid, best], 3000)
    expect(counts.worst).toBeUndefined()
    expect(counts.best).toBeGreaterThan(1800)
    expect(counts.best).toBeLessThan(2200)
  })
})

describe("consistent-hash-bounded placement", () => {
  const ten = () => Array.from({ length: 10 }, (_, i) => inst(`i${i}`))

  it("sends a model to the same instance every time", () => {
    const p = build("consistent-hash-bounded")
    const instances = ten()
    const first = p.choose(place("model-42"), instances, 0)!.id
    for (let i = 0; i < 20; i++) expect(p.choose(place("model-42"), instances, i)!.id).toBe(first)
    // a different policy object (same options) agrees: the ring depends only on the ids
    expect(build("consistent-hash-bounded", {}, 99).choose(place("model-42"), [...instances].reverse(), 0)!.id).toBe(first)
  })

  it("removing an instance moves only the models that were on it", () => {
    const p = build("consistent-hash-bounded", { epsilon: 100 })
    const all = ten()
    const without = all.filter((i) => i.id !== "i3")
    const models = Array.from({ length: 500 }, (_, k) => `m${k}`)
    const before = new Map(models.map((m) => [m, p.choose(place(m), all, 0)!.id]))
    let moved = 0
    for (const m of models) {
      const after = p.choose(place(m), without, 0)!.id
      if (before.get(m) === "i3") moved++
      else expect(after).toBe(before.get(m))
    }
    expect(moved).toBeGreaterThan(20) // i3 held its share (≈ 50) and those did move
  })

  it("skips an instance at the load bound and takes the next one on the ring", () => {
    const p = build("consistent-hash-bounded", { epsilon: 0 })
    const four = ["a", "b", "c", "d"].map((id) => inst(id))
    const home = p.choose(place("m"), four, 0)!.id
    // 10 models on `home`, none elsewhere: bound = ceil((10 + 1) / 4) = 3
    const loaded = four.map((i) => (i.id === home ? { ...i, modelCount: 10 } : i))
    const next = p.choose(place("m"), loaded, 0)!.id
    expect(next).not.toBe(home)
    // at the bound but the only candidate: placed there anyway rather than refused
    const alone = loaded.map((i) => (i.id === home ? i : { ...i, hasModel: true }))
    expect(p.choose(place("m"), alone, 0)!.id).toBe(home)
  })

  it("keeps every instance within ceil((1 + ε) × average) models", () => {
    const p = build("consistent-hash-bounded", { epsilon: 0.25 })
    const instances = ten()
    for (let k = 0; k < 1000; k++) {
      const chosen = p.choose(place(`model-${k}`), instances, k)!
      const i = instances.indexOf(chosen)
      instances[i] = { ...chosen, modelCount: chosen.modelCount + 1 }
    }
    const max = Math.max(...instances.map((i) => i.modelCount))
    expect(max).toBeLessThanOrEqual(Math.ceil(1.25 * 100))
    expect(Math.min(...instances.map((i) => i.modelCount))).toBeGreaterThan(50)
  })
})

describe("label constraints, for every placement policy", () => {
  const gpu = { accel: "gpu" }
  it.each(names)("%s: required labels filter, preferred labels rank first", (name) => {
    const p = build(name)
    const cpuRoomy = inst("cpu", { labels: { accel: "cpu", zone: "a" } })
    const gpuA = inst("gpuA", { labels: { accel: "gpu", zone: "a" }, usedBytes: 800 * MiB })
    const gpuB = inst("gpuB", { labels: { accel: "gpu", zone: "b" }, usedBytes: 700 * MiB })
    const all = [cpuRoomy, gpuA, gpuB]
    for (let k = 0; k < 30; k++) {
      expect(["gpuA", "gpuB"]).toContain(p.choose(place(`m${k}`, 50 * MiB, { required: gpu }), all, k)!.id)
      expect(p.choose(place(`m${k}`, 50 * MiB, { required: gpu, preferred: { zone: "a" } }), all, k)!.id).toBe("gpuA")
      // preference with no match anywhere: still placed, on any instance
      expect(p.choose(place(`m${k}`, 50 * MiB, { preferred: { zone: "z" } }), all, k)).toBeDefined()
    }
    expect(p.choose(place("m", 50 * MiB, { required: { accel: "tpu" } }), all, 0)).toBeUndefined()
  })
})

// ---- properties, every policy ----

const labelValue = fc.constantFrom("x", "y")
const labelsArb = fc.record({ zone: labelValue, accel: labelValue }, { requiredKeys: [] })

const instanceArb = (i: number) =>
  fc
    .record({
      capacityBytes: fc.integer({ min: 1, max: 1000 }),
      usedFrac: fc.double({ min: 0, max: 1.2, noNaN: true }),
      labels: labelsArb,
      loadingCount: fc.integer({ min: 0, max: 3 }),
      maxConcurrentLoads: fc.integer({ min: 1, max: 3 }),
      inFlight: fc.integer({ min: 0, max: 20 }),
      modelCount: fc.integer({ min: 0, max: 20 }),
      lruTime: fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 10_000 })),
      rpm: fc.integer({ min: 0, max: 5000 }),
      shuttingDown: fc.boolean(),
      hasModel: fc.boolean()
    })
    .map(({ usedFrac, capacityBytes, ...r }): InstanceView => ({
      id: `i${i}`,
      capacityBytes,
      usedBytes: Math.floor(usedFrac * capacityBytes),
      ...r
    }))

const clusterArb = fc.integer({ min: 0, max: 8 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => instanceArb(i))))

const requestArb = fc
  .record({
    id: fc.string({ minLength: 1, maxLength: 8 }),
    size: fc.integer({ min: 1, max: 1200 }),
    required: fc.option(labelsArb, { nil: undefined }),
    preferred: fc.option(labelsArb, { nil: undefined })
  })
  .map(({ id, size, required, preferred }): PlacementRequest => ({ ...place(id, size), required, preferred }))

describe("placement properties", () => {
  it.each(names)("%s never returns an ineligible instance, and undefined only when none is eligible", (name) => {
    const p = build(name, {}, 7)
    fc.assert(
      fc.property(clusterArb, requestArb, (instances, req) => {
        const chosen = p.choose(req, instances, 20_000)
        const eligible = instances.filter((i) => isEligible(req, i))
        if (eligible.length === 0) return chosen === undefined
        if (chosen === undefined || !instances.includes(chosen)) return false
        if (chosen.hasModel || chosen.shuttingDown || chosen.capacityBytes < req.sizeBytes) return false
        if (req.required && Object.entries(req.required).some(([k, v]) => chosen.labels[k] !== v)) return false
        // preferred labels: nothing eligible matches more of them than the choice
        const tier = matchCount(chosen.labels, req.preferred)
        return eligible.every((i) => matchCount(i.labels, req.preferred) <= tier)
      }),
      { numRuns: 400 }
    )
  })

  it.each(names)("%s makes the same choices for the same seed", (name) => {
    fc.assert(
      fc.property(fc.array(fc.tuple(clusterArb, requestArb), { minLength: 1, maxLength: 20 }), fc.integer(), (calls, seed) => {
        const a = build(name, {}, seed)
        const b = build(name, {}, seed)
        return calls.every(([instances, req]) => a.choose(req, instances, 5000)?.id === b.choose(req, instances, 5000)?.id)
      }),
      { numRuns: 100 }
    )
  })
})
