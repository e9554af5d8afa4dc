import { describe, expect, it } from "vitest"
import { stepsOf } from "../src/fidelity/real-run.js"

// The server thread's CPU and run-queue wait per step of the replay, from cumulative counters read
// at jittery times: steps start at the replay's instant 0 and split each interval between reads
// in proportion to time.

describe("the main thread's scheduling, step by step", () => {
  it("splits the counters read at uneven times into steps aligned to the replay's start", () => {
    // cpu grows 1 ms per ms until t=170, then stops; wait grows 0.5 ms per ms throughout
    // (piecewise linear between the reads, so interpolation is exact)
    const at = [90, 130, 170, 260, 300]
    const cpu = at.map((t) => Math.min(t, 170) - 90)
    const wait = at.map((t) => 0.5 * t)
    const s = stepsOf(at, cpu, wait, 100, 50)!
    expect(s.stepMs).toBe(50)
    expect(s.cpuMs).toEqual([50, 20, 0, 0])
    expect(s.waitMs).toEqual([25, 25, 25, 25])
  })

  it("has no steps when the reads start after the replay or cover less than one step", () => {
    expect(stepsOf([120, 200], [0, 10], [0, 1], 100, 50)).toBeUndefined()
    expect(stepsOf([90, 120], [0, 10], [0, 1], 100, 50)).toBeUndefined()
  })
})
