import { describe, expect, it } from "vitest"
import { backgroundOf, slowdownOf, type SchedTimeline } from "@meshkit/bench"

// The fidelity check's calibration from the replay itself: the server thread's core share over
// time (its schedstat every step) becomes the simulator's slowdown, and its CPU per second is
// split into background, per request and per first load by least squares.

describe("fidelity: calibration from the same run", () => {
  it("slowdownOf: a step's factor is the run's mean share ÷ its share; idle steps keep the last known share", () => {
    // step 0: share 0.5 (runnable all of it); step 1: 0.25; step 2: idle (keeps 0.25); step 3: 1
    const t: SchedTimeline = { stepMs: 100, cpuMs: [50, 25, 1, 100], waitMs: [50, 75, 0, 0] }
    const s = slowdownOf(t, 0.5)
    expect(s.stepMs).toBe(100)
    expect(s.factors).toEqual([1, 2, 2, 0.5])
  })

  it("backgroundOf recovers background, per-request and per-first-load CPU from a timeline", () => {
    // 60 s in 250 ms steps; per second: k requests (k varies), and a new model every 3rd second.
    // CPU per second = 40 ms + 0.5 ms × requests + 6 ms × first loads, spread over its 4 steps.
    const at: number[] = []
    const model: number[] = []
    const cpuMs: number[] = []
    let next = 0
    for (let s = 0; s < 60; s++) {
      const k = 20 + ((s * 7) % 13)
      const fresh = s % 3 === 0
      for (let i = 0; i < k; i++) {
        at.push(s * 1000 + (i * 1000) / k)
        model.push(fresh && i === 0 ? 1000 + next++ : 0)
      }
      // model 0's first request is a first load too (second 0)
      const first = (fresh ? 1 : 0) + (s === 0 ? 1 : 0)
      const cpu = 40 + 0.5 * k + 6 * first
      for (let q = 0; q < 4; q++) cpuMs.push(cpu / 4)
    }
    const b = backgroundOf({ stepMs: 250, cpuMs, waitMs: cpuMs.map(() => 0) }, Float64Array.from(at), Int32Array.from(model))
    expect(b).toBeDefined()
    expect(b!.cpuMsPerSecond).toBeCloseTo(40, 6)
    expect(b!.perRequestCpuMs).toBeCloseTo(0.5, 6)
    expect(b!.perFirstLoadCpuMs).toBeCloseTo(6, 6)
  })

  it("backgroundOf gives up on a degenerate fit (too short, or a negative term)", () => {
    const short: SchedTimeline = { stepMs: 250, cpuMs: [1, 2, 3, 4], waitMs: [0, 0, 0, 0] }
    expect(backgroundOf(short, Float64Array.from([0]), Int32Array.from([0]))).toBeUndefined()
    // CPU falls as requests rise: a negative per-request cost is no calibration
    const at: number[] = []
    const cpuMs: number[] = []
    for (let s = 0; s < 20; s++) {
      for (let i = 0; i < s; i++) at.push(s * 1000 + i)
      for (let q = 0; q < 4; q++) cpuMs.push(Math.max(0, 100 - 3 * s))
    }
    expect(backgroundOf({ stepMs: 250, cpuMs, waitMs: cpuMs.map(() => 0) }, Float64Array.from(at), new Int32Array(at.length))).toBeUndefined()
  })
})
