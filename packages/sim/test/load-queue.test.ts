import { describe, expect, it } from "vitest"
import { buildPolicy, makeRng, type Resident } from "@meshkit/core"
import { Copy } from "../src/engine/copy.js"
import { Instance } from "../src/engine/instance.js"

const entry = (id: string): Resident => ({
  id,
  tenant: "t",
  size: 1,
  loadCostMs: 1,
  lastUsed: 0,
  insertedAt: 0,
  hits: 1,
  inFlight: 0,
  loading: true,
  pinned: false,
  nextUse: Infinity,
  slot: undefined
})

describe("an instance's load queue", () => {
  const inst = new Instance(0, "i0", 100, 1, buildPolicy("eviction", "lru", { rng: makeRng(1), capacityBytes: 100 }))
  const copy = (id: number, demand: boolean) => new Copy(id, id, inst, entry(`m${id}`), 4, demand)

  it("loads a request waits for before background loads, each queue in order, a promoted load once", () => {
    const bg1 = copy(1, false)
    const bg2 = copy(2, false)
    const d3 = copy(3, true)
    inst.backgroundLoads.push(bg1)
    inst.backgroundLoads.push(bg2)
    inst.demandLoads.push(d3)
    // a request now waits for bg2: promoted to the demand queue
    bg2.demand = true
    inst.demandLoads.push(bg2)
    const order: number[] = []
    for (let c = inst.nextLoad(); c !== undefined; c = inst.nextLoad()) {
      c.loadStarted = true
      order.push(c.id)
    }
    expect(order).toEqual([3, 2, 1])
  })
})
