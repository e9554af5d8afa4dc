import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import fc from "fast-check"
import { afterAll, describe, expect, it } from "vitest"
import { arrayTrace } from "../src/engine/array-trace.js"
import { defaultCluster, type SimConfig } from "../src/engine/config.js"
import { runIdealGeneral } from "../src/engine/ideal.js"
import { fastIdealPolicy, runIdealFast, type FastIdealPolicy } from "../src/engine/ideal-fast/index.js"
import { simulate } from "../src/engine/simulate.js"
import type { RunOutput } from "../src/metrics/result.js"
import { oracleGeneralTrace } from "../src/trace/index.js"

// The integer fast path of ideal mode (engine/ideal-fast/) must give exactly what the general
// path (ModelCache + core's policy) gives, and both what a textbook cache gives.

const cfg = (eviction: string, memoryBytes: number, extra: Partial<SimConfig> = {}): SimConfig => ({
  mode: "ideal",
  cluster: { ...defaultCluster, memoryBytes },
  eviction,
  placement: "modelmesh",
  routing: "least-in-flight",
  scaling: "none",
  seed: 1,
  sloMs: 100,
  ...extra
})

/** everything but the wall-clock fields */
const comparable = (o: RunOutput) => {
  const { wallSeconds: _w, requestsPerSecond: _r, ...rest } = o.result
  return { result: rest, series: o.series }
}

/**
 * A textbook byte-capacity lru / fifo, written here independently of meshkit's code: a Map in
 * insertion order, the first key the next victim (lru re-inserts on a hit).
 */
const reference = (kind: FastIdealPolicy, capacity: number, sizes: readonly number[], requests: readonly number[]) => {
  const order = new Map<number, number>()
  let used = 0
  let misses = 0
  let evictions = 0
  let missedBytes = 0
  for (const m of requests) {
    const size = sizes[m]!
    if (order.has(m)) {
      if (kind === "lru") {
        order.delete(m)
        order.set(m, size)
      }
      continue
    }
    misses++
    missedBytes += size
    if (size > capacity) continue
    while (used + size > capacity) {
      const [victim, bytes] = order.entries().next().value as [number, number]
      order.delete(victim)
      used -= bytes
      evictions++
    }
    order.set(m, size)
    used += size
  }
  return { misses, evictions, missedBytes }
}

const traceArb = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 40 }),
  tenants: fc.integer({ min: 1, max: 3 }),
  capacity: fc.integer({ min: 1, max: 200 }),
  picks: fc.array(fc.nat(), { minLength: 0, maxLength: 400 }),
  gaps: fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 50 })
})

describe("ideal mode's integer fast path (lru, fifo)", () => {
  it("is chosen for lru and fifo in ideal mode without tenant shares, and only then", () => {
    expect(fastIdealPolicy(cfg("lru", 10))).toBe("lru")
    expect(fastIdealPolicy(cfg("fifo", 10))).toBe("fifo")
    expect(fastIdealPolicy(cfg({ name: "lru" } as never, 10))).toBe("lru")
    expect(fastIdealPolicy(cfg("gdsf", 10))).toBeUndefined()
    expect(fastIdealPolicy(cfg("belady", 10))).toBeUndefined()
    expect(fastIdealPolicy(cfg("lru", 10, { mode: "full" }))).toBeUndefined()
    expect(fastIdealPolicy(cfg("lru", 10, { shares: [{ id: "t0", fraction: 0.5 }] }))).toBeUndefined()
  })

  for (const kind of ["lru", "fifo"] as const) {
    it(`${kind}: every counter, tenant row and timeline bucket equals the ModelCache path's, and misses and evictions equal a textbook ${kind}`, async () => {
      await fc.assert(
        fc.asyncProperty(traceArb, async ({ sizes, tenants, capacity, picks, gaps }) => {
          const n = sizes.length
          const models = { ids: sizes.map((_, i) => `m${i}`), tenants: sizes.map((_, i) => `t${i % tenants}`), sizes: [...sizes] }
          // a skewed pick (squares favour low indices) so that there are hits as well as misses
          const model = Int32Array.from(picks, (p) => Math.floor(((p % 1000) / 1000) ** 2 * n))
          let t = 0
          const timeMs = Float64Array.from(picks, (_, i) => (t += gaps[i % gaps.length]!))
          const trace = () => arrayTrace("prop", models, timeMs, model)
          const fast = await runIdealFast(trace(), cfg(kind, capacity), kind)
          const general = await runIdealGeneral(trace(), cfg(kind, capacity))
          expect(comparable(fast)).toEqual(comparable(general))
          const ref = reference(kind, capacity, sizes, Array.from(model))
          expect({ misses: fast.result.misses, evictions: fast.result.evictions }).toEqual({ misses: ref.misses, evictions: ref.evictions })
          const requestBytes = Array.from(model).reduce((a, m) => a + sizes[m]!, 0)
          if (requestBytes > 0) expect(fast.result.byteMissRatio).toBeCloseTo(ref.missedBytes / requestBytes, 12)
        }),
        { numRuns: 150, seed: 12 }
      )
    })
  }
})

describe("an oracleGeneral file through the fast path", () => {
  const dir = mkdtempSync(join(tmpdir(), "meshkit-fast-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("gives a textbook lru's and fifo's misses on 64-bit ids, over more objects than the id hash starts with", async () => {
    // 100,000 records over 40,000 objects (each requested at least once: the id hash, which
    // starts at 65,536 slots and stays half empty, must grow) whose ids use both 32-bit halves
    const n = 100_000
    const objects = 40_000
    const b = Buffer.alloc(n * 24)
    const idOf = (k: number): bigint => (BigInt(k) * 0x9e3779b97f4a7c15n) & ((1n << 64n) - 1n)
    const sizeOf = (k: number): number => 100 + ((k * 7919) % 900)
    const picks: number[] = []
    let x = 7
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0
      const k = i < objects ? (i * 7) % objects : Math.floor((x / 2 ** 32) ** 3 * objects)
      picks.push(k)
      b.writeUInt32LE(Math.floor(i / 100), i * 24)
      b.writeBigUInt64LE(idOf(k), i * 24 + 4)
      b.writeUInt32LE(sizeOf(k), i * 24 + 12)
      b.writeBigInt64LE(-1n, i * 24 + 16)
    }
    const path = join(dir, "big-ids.oracleGeneral")
    writeFileSync(path, b)
    // the reference keys objects by the 64-bit id itself (BigInt), not by meshkit's interning
    const dense = new Map<bigint, number>()
    const sizes: number[] = []
    const seq = picks.map((k) => {
      const id = idOf(k)
      let d = dense.get(id)
      if (d === undefined) {
        d = sizes.length
        dense.set(id, d)
        sizes.push(sizeOf(k))
      }
      return d
    })
    const capacity = 2_000_000
    for (const kind of ["lru", "fifo"] as const) {
      const r = (await simulate(oracleGeneralTrace({ path }), cfg(kind, capacity))).result
      const ref = reference(kind, capacity, sizes, seq)
      expect({ kind, requests: r.requests, misses: r.misses, evictions: r.evictions }).toEqual({ kind, requests: n, misses: ref.misses, evictions: ref.evictions })
      expect(r.requestsPerSecond).toBeGreaterThan(0)
    }
  })
})
