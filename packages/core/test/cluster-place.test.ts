import { describe, expect, it } from "vitest"
import { buildPolicy, InstanceViewState, Placer, policyRng, type Admission, type PlacementPolicy, type PlacementRequest } from "@meshkit/core"

const req = (id: string, sizeBytes = 10): PlacementRequest => ({
  model: { id, tenant: "t", format: "onnx", uri: "", sizeBytes, loadCostMs: 1, labels: {}, pinned: false, minCopies: 1, maxCopies: 1 },
  sizeBytes
})
const always: Admission<InstanceViewState> = { admit: () => true }
const idle = (n: number) => Array.from({ length: n }, (_, i) => new InstanceViewState(i, `i${i}`, 1000, 2))

describe("place", () => {
  it("counts a load on its instance at decision time, so back-to-back placements without a refresh spread (no load herding, kserve/modelmesh#469)", () => {
    for (const policy of ["least-loaded", "modelmesh", "most-free-space"]) {
      const placer = new Placer(buildPolicy("placement", policy, { rng: policyRng(1, "placement") }))
      const views = idle(4)
      const chosen = ["a", "b", "c", "d"].map((m) => placer.place(req(m, 100), views, 0, always)!.index)
      expect(new Set(chosen).size, policy).toBe(4)
      expect(views.map((v) => v.loadingCount)).toEqual([1, 1, 1, 1])
    }
  })

  it("asks for the next choice when the chosen instance refuses, and returns undefined when every one refused", () => {
    const placer = new Placer(buildPolicy("placement", "most-free-space", { rng: policyRng(1, "placement") }))
    const views = idle(3)
    views[0]!.usedBytes = 0
    views[1]!.usedBytes = 100
    views[2]!.usedBytes = 200
    const asked: number[] = []
    const refuseFirst: Admission<InstanceViewState> = { admit: (v) => (asked.push(v.index), v.index !== 0) }
    expect(placer.place(req("m"), views, 0, refuseFirst)?.index).toBe(1)
    expect(asked).toEqual([0, 1])
    const never: Admission<InstanceViewState> = { admit: () => false }
    expect(placer.place(req("n"), views, 0, never)).toBeUndefined()
    expect(views.map((v) => v.hasModel)).toEqual([false, true, false])
  })

  it("throws when a policy picks an instance the shared rules exclude", () => {
    const rogue: PlacementPolicy = { name: "rogue", choose: (_r, views) => views[0] }
    const views = idle(2)
    views[0]!.shuttingDown = true
    expect(() => new Placer(rogue).place(req("m"), views, 0, always)).toThrow(/ineligible instance i0/)
  })
})
