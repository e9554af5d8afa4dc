import { describe, expect, it } from "vitest"
import { startIsolatedSim } from "../src/sim/sim-isolate.js"
import { prepareWorkload } from "../src/sim/sim-workloads.js"

// The simulator benchmark's workers, started from the TypeScript sources (the path tests and
// `npx tsx` take; the bundled CLI loads the bundled worker entry instead).

describe("simulator benchmark worker threads", () => {
  it("times one simulation in its own worker and reports simulated requests per CPU-second", async () => {
    const full = await startIsolatedSim({ workload: "full", requests: 20_000 })
    try {
      expect(full.describe).toMatch(/^trace: 20000 requests over \d+ models \(materialised\)$/)
      for (const v of [await full.round(1), await full.round(2)]) {
        // 20,000 simulated requests through 8 instances: well above 10 k/s, well below 1,000 M/s
        expect(v).toBeGreaterThan(1e4)
        expect(v).toBeLessThan(1e9)
      }
    } finally {
      await full.stop()
    }
  })

  it("simulates what the benchmark describes: every request of the trace, in both modes", async () => {
    for (const workload of ["ideal", "full"] as const) {
      const w = await prepareWorkload({ workload, requests: 5_000 })
      expect(w.requests).toBe(5_000)
      expect((await w.run()).result.requests).toBe(5_000)
    }
  })

  it("fails with the simulation's name when the worker cannot set it up", async () => {
    await expect(startIsolatedSim({ workload: "azure", requests: 1 })).rejects.toThrow(/sim azure: the azure workload needs the sample's folder/)
  })
})
