import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { arrayTrace, azureTrace, defaultCluster, materialize, simulate, type SimConfig, type Trace } from "@meshkit/sim"

/**
 * Ideal mode must be a standard cache simulator: on the Azure Functions sample (first 120 min)
 * lru and fifo reproduce research.md's reference table to 4 decimals.
 *
 * One detail of the reference: the C simulator that produced it stores object sizes as uint32,
 * so the sample's one model above 4 GiB (4361 MiB) counted as 265 MiB there. With that wrap the
 * table is reproduced exactly at 16 and 64 GiB; with true sizes 16 GiB still matches and 64 GiB
 * moves by 0.0002 — and then equals an independent textbook implementation written below.
 */
const SAMPLE = fileURLToPath(new URL("../../../../shared/traces/azure-functions-2019-sample/", import.meta.url))
const GiB = 1024 ** 3

const REFERENCE = {
  lru: { 16: 0.3399, 64: 0.1322 },
  fifo: { 16: 0.4276, 64: 0.1576 }
} as const

const ideal = (eviction: string, gib: number): SimConfig => ({
  mode: "ideal",
  cluster: { ...defaultCluster, memoryBytes: gib * GiB },
  eviction,
  placement: "modelmesh",
  routing: "least-in-flight",
  scaling: "none",
  seed: 1,
  sloMs: 100
})

/** Classic byte-capacity LRU / FIFO on a Map (insertion order = queue order), written from the definition. */
const textbook = (model: Int32Array, sizes: readonly number[], capacity: number, lru: boolean): number => {
  const cache = new Map<number, number>()
  let used = 0
  let misses = 0
  for (let i = 0; i < model.length; i++) {
    const k = model[i]!
    if (cache.has(k)) {
      if (lru) {
        cache.delete(k)
        cache.set(k, sizes[k]!)
      }
      continue
    }
    misses++
    const s = sizes[k]!
    if (s > capacity) continue
    while (used + s > capacity) {
      const [victim, vs] = cache.entries().next().value as [number, number]
      cache.delete(victim)
      used -= vs
    }
    cache.set(k, s)
    used += s
  }
  return misses / model.length
}

describe("ideal mode on the Azure Functions 2019 sample (first 120 minutes)", () => {
  let trace: Trace
  let wrapped: Trace
  let model: Int32Array
  let sizes: number[]

  beforeAll(async () => {
    const source = azureTrace({ dir: SAMPLE, minutes: 120 })
    const m = await materialize(source)
    model = m.model
    sizes = [...source.models.sizes]
    trace = arrayTrace("azure", source.models, m.timeMs, m.model, m.execMs)
    const uint32 = { ...source.models, sizes: sizes.map((s) => s % 2 ** 32) }
    wrapped = arrayTrace("azure-uint32", uint32, m.timeMs, m.model, m.execMs)
  }, 120_000)

  it("replays 1,422,752 requests", async () => {
    const r = await simulate(trace, ideal("lru", 64))
    expect(r.result.requests).toBe(1_422_752)
    expect(r.result.hits + r.result.misses).toBe(1_422_752)
  })

  for (const policy of ["lru", "fifo"] as const) {
    for (const gib of [16, 64] as const) {
      it(`${policy} at ${gib} GiB equals the reference ${REFERENCE[policy][gib]} (sizes stored as uint32, like the reference)`, async () => {
        const r = await simulate(wrapped, ideal(policy, gib))
        expect(r.result.missRatio.toFixed(4)).toBe(REFERENCE[policy][gib].toFixed(4))
      })

      it(`${policy} at ${gib} GiB with true sizes equals a textbook ${policy} miss for miss`, async () => {
        const r = await simulate(trace, ideal(policy, gib))
        const expected = textbook(model, sizes, gib * GiB, policy === "lru")
        expect(r.result.missRatio).toBe(expected)
        if (gib === 16) expect(r.result.missRatio.toFixed(4)).toBe(REFERENCE[policy][16].toFixed(4))
      })
    }
  }
})
