import { describe, expect, it } from "vitest"
import { makeRng } from "@meshkit/core"
import { arrayTrace, defaultCluster, generatedTrace, materialize, runFull, type ClusterConfig, type ShortcutCheck, type SimConfig, type Trace } from "@meshkit/sim"
import { ExecSampler } from "../src/engine/exec-time.js"

/**
 * The full-mode engine settles some placements without asking core's Placer or the cache: an
 * admission needing more bytes than the instance's idle residents hold is refused at once, and a
 * placement with at most one possible instance, which cannot make room, fails at once. These
 * tests run the engine with `checkShortcuts`: every shortcut is then not taken but its prediction
 * checked against core's and the cache's real answer (an error if they disagree), and the
 * results must be those of the normal run to the last digit.
 */
const MiB = 1024 ** 2

/** bursty traffic on too little memory: loads pile up, admissions are refused, models block */
const crowded = async (): Promise<Trace> => {
  const g = generatedTrace({
    seed: 3, models: 400, tenants: 8, zipf: 0.8, rate: 400, arrival: "onoff", onMs: 20_000, offMs: 60_000,
    sizeMedian: 300 * MiB, sizeSigma: 0.7, execMedianMs: 30, execSigma: 0.6, requests: 40_000
  })
  const m = await materialize(g)
  return arrayTrace("crowded", g.models, m.timeMs, m.model, m.execMs)
}

const cluster: ClusterConfig = {
  ...defaultCluster, instances: 4, memoryBytes: 1536 * MiB, maxConcurrentLoads: 2, loadFixedMs: 200,
  loadBytesPerSecond: 500 * MiB, unloadMs: 20, modelConcurrency: 4, maxCopies: 3
}

const config = (eviction: string, over: Partial<SimConfig> = {}): SimConfig => ({
  mode: "full", cluster, eviction, placement: "modelmesh", routing: "least-in-flight", scaling: "modelmesh", seed: 5, sloMs: 500, ...over
})

/** a result without its timing (wall seconds, requests per second) */
const outcome = (r: { result: object }) => ({ ...r.result, wallSeconds: 0, requestsPerSecond: 0 })

describe("full mode: placements settled without asking core", () => {
  for (const eviction of ["lru", "fifo", "gdsf"]) {
    it(`${eviction}: each shortcut predicts what core's Placer and the cache answer, and the results do not change`, async () => {
      const trace = await crowded()
      const check: ShortcutCheck = { refusals: 0, placements: 0 }
      const checked = await runFull(trace, config(eviction), { checkShortcuts: check })
      const fast = await runFull(trace, config(eviction))
      // the trace does exercise both shortcuts, many times
      expect(check.refusals).toBeGreaterThan(1000)
      expect(check.placements).toBeGreaterThan(1000)
      expect(fast.result.coldStarts).toBeGreaterThan(0)
      expect(outcome(fast)).toEqual(outcome(checked))
    })
  }

  it("with other placement policies too (least-loaded, power of two choices)", async () => {
    const trace = await crowded()
    for (const placement of ["least-loaded", "power-of-two-choices"]) {
      const check: ShortcutCheck = { refusals: 0, placements: 0 }
      const checked = await runFull(trace, config("lru", { placement }), { checkShortcuts: check })
      const fast = await runFull(trace, config("lru", { placement }))
      expect(check.refusals + check.placements).toBeGreaterThan(1000)
      expect(outcome(fast)).toEqual(outcome(checked))
    }
  })
})

describe("execution times drawn a batch at a time", () => {
  /** the one-at-a-time Box-Muller the engine used before, as the reference stream */
  const reference = (medianMs: number, sigma: number, seed: number) => {
    const rng = makeRng(seed)
    let spare = NaN
    return () => {
      let z: number
      if (spare === spare) {
        z = spare
        spare = NaN
      } else {
        const r = Math.sqrt(-2 * Math.log(1 - rng.next()))
        const a = 2 * Math.PI * rng.next()
        spare = r * Math.sin(a)
        z = r * Math.cos(a)
      }
      return Math.exp(Math.log(medianMs) + sigma * z)
    }
  }

  it("lognormal: the same numbers, in the same order, across batch boundaries", () => {
    const want = reference(20, 0.8, 9)
    const s = new ExecSampler({ kind: "lognormal", medianMs: 20, sigma: 0.8 }, makeRng(9))
    for (let i = 0; i < 5000; i++) expect(s.next()).toBe(want())
  })

  it("exponential and constant", () => {
    const rng = makeRng(4)
    const e = new ExecSampler({ kind: "exponential", meanMs: 7 }, makeRng(4))
    for (let i = 0; i < 3000; i++) expect(e.next()).toBe(-7 * Math.log(1 - rng.next()))
    const c = new ExecSampler({ kind: "constant", ms: 3 }, makeRng(1))
    for (let i = 0; i < 2000; i++) expect(c.next()).toBe(3)
  })
})
