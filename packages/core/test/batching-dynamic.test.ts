import { describe, expect, it } from "vitest"
import { buildPolicy, dynamicBatching, makeRng, policiesOf, resolvePolicy, type BatchQueueView } from "../src/index.js"

const q = (requests: number, rows: number, oldestArrival: number, running = 0): BatchQueueView => ({ requests, rows, oldestArrival, running })

describe("dynamic batching policy (Triton's dynamic batcher)", () => {
  it("with no delay runs whatever waits as soon as a run slot is free, up to maxBatchSize rows", () => {
    const p = dynamicBatching({ maxBatchSize: 8, maxBatchDelayMs: 0, preferredBatchSizes: [], maxConcurrentBatches: 1 })
    expect(p.rowsToRun(q(1, 1, 100), 100)).toBe(8)
    expect(p.rowsToRun(q(20, 20, 100), 100)).toBe(8)
  })

  it("queues while every run slot is busy, and asks again only when a run completes", () => {
    const p = dynamicBatching({ maxBatchSize: 8, maxBatchDelayMs: 5, preferredBatchSizes: [], maxConcurrentBatches: 2 })
    expect(p.rowsToRun(q(3, 3, 0, 2), 100)).toBe(0)
    expect(p.nextDecisionAt(q(3, 3, 0, 2), 100)).toBe(Infinity)
    expect(p.rowsToRun(q(3, 3, 0, 1), 100)).toBe(8)
  })

  it("waits up to maxBatchDelay for company, then runs what it has", () => {
    const p = dynamicBatching({ maxBatchSize: 8, maxBatchDelayMs: 5, preferredBatchSizes: [], maxConcurrentBatches: 1 })
    expect(p.rowsToRun(q(2, 2, 100), 102)).toBe(0)
    expect(p.nextDecisionAt(q(2, 2, 100), 102)).toBe(105)
    expect(p.rowsToRun(q(2, 2, 100), 105)).toBe(8)
  })

  it("does not wait once the waiting rows fill a batch", () => {
    const p = dynamicBatching({ maxBatchSize: 8, maxBatchDelayMs: 50, preferredBatchSizes: [], maxConcurrentBatches: 1 })
    expect(p.rowsToRun(q(8, 8, 100), 100)).toBe(8)
    expect(p.rowsToRun(q(3, 12, 100), 100)).toBe(8)
  })

  it("starts a run at the largest preferred size reached before the delay runs out", () => {
    const p = dynamicBatching({ maxBatchSize: 16, maxBatchDelayMs: 50, preferredBatchSizes: [4, 8], maxConcurrentBatches: 1 })
    expect(p.rowsToRun(q(3, 3, 100), 101)).toBe(0)
    expect(p.rowsToRun(q(5, 5, 100), 101)).toBe(4)
    expect(p.rowsToRun(q(9, 9, 100), 101)).toBe(8)
    // once the delay is over the whole batch goes, preferred or not
    expect(p.rowsToRun(q(9, 9, 100), 150)).toBe(16)
  })

  it("ignores preferred sizes above maxBatchSize", () => {
    const p = dynamicBatching({ maxBatchSize: 4, maxBatchDelayMs: 50, preferredBatchSizes: [64], maxConcurrentBatches: 1 })
    expect(p.rowsToRun(q(3, 3, 100), 101)).toBe(0)
    expect(p.rowsToRun(q(4, 4, 100), 101)).toBe(4)
  })

  it("is a policy family of its own, built from options with defaults and named errors", () => {
    expect(policiesOf("batching").map((d) => d.name)).toEqual(["dynamic"])
    const p = buildPolicy("batching", { name: "dynamic", options: { maxBatchSize: 4 } }, { rng: makeRng(1) })
    expect(p.maxRows).toBe(4)
    const bad = resolvePolicy("batching", { name: "dynamic", options: { maxBatchSize: 0 } })
    expect(bad._tag).toBe("Left")
    if (bad._tag === "Left") expect(bad.left.message).toMatch(/maxBatchSize/)
  })
})
