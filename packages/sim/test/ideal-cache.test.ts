import { describe, expect, it } from "vitest"
import { defaultCluster, simulate, tinyTrace, type SimConfig } from "@meshkit/sim"

const ideal = (eviction: string, memoryBytes: number): SimConfig => ({
  mode: "ideal",
  cluster: { ...defaultCluster, memoryBytes },
  eviction,
  placement: "modelmesh",
  routing: "least-in-flight",
  scaling: "none",
  seed: 1,
  sloMs: 100
})

const models = ["A", "B", "C", "D"].map((id) => ({ id, size: 10 }))

describe("ideal mode", () => {
  it("counts hits and misses as a textbook cache does (lru vs fifo)", async () => {
    // capacity 2 models. A B A C B: lru evicts B for C (B miss again); fifo evicts A for C (B hits)
    const trace = tinyTrace(models, [[0, "A"], [1, "B"], [2, "A"], [3, "C"], [4, "B"]])
    const lru = (await simulate(trace, ideal("lru", 20))).result
    const fifo = (await simulate(trace, ideal("fifo", 20))).result
    expect([lru.hits, lru.misses, lru.evictions]).toEqual([1, 4, 2])
    expect([fifo.hits, fifo.misses, fifo.evictions]).toEqual([2, 3, 1])
    expect(lru.coldStarts).toBe(lru.loads)
    expect(lru.coldStartSeconds).toBe(0)
    expect(lru.latencyUs).toEqual({ p50: 0, p90: 0, p99: 0, p999: 0 })
  })

  it("gives belady each request's next use: it beats lru where lru is fooled", async () => {
    // A B C A B with room for two: belady evicts B (used last) for C, keeping A → 4 misses; lru 5
    const trace = tinyTrace(models, [[0, "A"], [1, "B"], [2, "C"], [3, "A"], [4, "B"]])
    expect((await simulate(trace, ideal("belady", 20))).result.misses).toBe(4)
    expect((await simulate(trace, ideal("lru", 20))).result.misses).toBe(5)
  })

  it("a model larger than the cache is a miss that is not inserted and evicts nothing", async () => {
    const trace = tinyTrace([...models, { id: "huge", size: 50 }], [[0, "A"], [1, "huge"], [2, "A"], [3, "huge"]])
    const r = (await simulate(trace, ideal("lru", 20))).result
    expect(r).toMatchObject({ hits: 1, misses: 3, failed: 2, loads: 1, evictions: 0, sloAttainment: 0.5 })
  })

  it("keep-alive policies unload idle models as time passes", async () => {
    // ttl with a 1-minute keep-alive: A idle for 2 minutes is gone, so it misses again
    const trace = tinyTrace(models, [[0, "A"], [30_000, "A"], [150_000, "B"], [150_001, "A"]])
    const cfg = { ...ideal("lru", 1000), eviction: { name: "ttl", options: { keepAliveMs: 60_000 } } }
    const ttl = (await simulate(trace, cfg)).result
    expect(ttl).toMatchObject({ hits: 1, misses: 3, evictions: 1 })
    expect(ttl.policy).toBe('ttl(keepAliveMs=60000)')
    // memory: A (10 bytes) from 0 until expiry at 90 s, then B and A from 150 s
    expect(ttl.peakMemoryBytes).toBe(20)
    const lru = (await simulate(trace, ideal("lru", 1000))).result
    expect(lru).toMatchObject({ hits: 2, misses: 2, evictions: 0 })
    expect(ttl.meanMemoryBytes).toBeLessThan(lru.meanMemoryBytes)
  })

  it("counts per tenant", async () => {
    const trace = tinyTrace(
      [{ id: "A", size: 10, tenant: "t1" }, { id: "B", size: 10, tenant: "t2" }],
      [[0, "A"], [1, "B"], [2, "A"], [3, "A"]]
    )
    const r = (await simulate(trace, ideal("lru", 100))).result
    expect(r.tenants).toEqual([
      { tenant: "t1", requests: 3, misses: 1, coldStarts: 1, p99Us: 0, sloAttainment: 1, shareBytes: 0 },
      { tenant: "t2", requests: 1, misses: 1, coldStarts: 1, p99Us: 0, sloAttainment: 1, shareBytes: 0 }
    ])
    expect(r.byteMissRatio).toBeCloseTo(20 / 40, 12)
  })
})
