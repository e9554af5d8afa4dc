/**
 * The simulations the simulator benchmark times (see sim-part.ts), each built from its data so a
 * worker thread can set one up alone: ideal mode with lru on the generated trace (one 64 GiB
 * cache, zero times), full mode on it (8 × 8 GiB with timing, placement, routing, scaling), and
 * full mode on the Azure Functions 2019 sample as scenarios/azure-functions.yaml replays it
 * (8 × 8 GiB, lru, 120 minutes). Traces are materialised first, so generating or parsing them is
 * not timed.
 */
import { cpuNowMs } from "../report/machine.js"

const GIB = 1024 ** 3

export type SimWorkloadName = "ideal" | "full" | "azure"

export interface SimWorkloadData {
  readonly workload: SimWorkloadName
  /** generated trace length (ideal and full) */
  readonly requests: number
  /** the Azure sample's folder (azure) */
  readonly azureDir?: string
}

export interface SimWorkload {
  /** what was materialised, for the progress line */
  readonly describe: string
  readonly requests: number
  /** one simulation */
  readonly run: () => Promise<{ readonly result: { readonly requests: number } }>
}

const base = { placement: "modelmesh", routing: "least-in-flight", scaling: "modelmesh", seed: 1, sloMs: 250 } as const

export const prepareWorkload = async (d: SimWorkloadData): Promise<SimWorkload> => {
  const sim = await import("@meshkit/sim")
  if (d.workload === "azure") {
    if (d.azureDir === undefined) throw new Error("the azure workload needs the sample's folder")
    const az = sim.azureTrace({ dir: d.azureDir, minutes: 120, exec: "none" })
    const am = await sim.materialize(az)
    const azTrace = sim.arrayTrace("azure", az.models, am.timeMs, am.model, am.execMs)
    const azCluster = {
      ...sim.defaultCluster, instances: 8, memoryBytes: 8 * GIB, maxConcurrentLoads: 4, loadFixedMs: 100, loadBytesPerSecond: 4 * GIB,
      unloadMs: 20, exec: { kind: "lognormal", medianMs: 20, sigma: 0.8 } as const, modelConcurrency: 16, maxCopies: 4
    }
    return {
      describe: `azure trace: ${am.model.length} requests over ${az.models.ids.length} models (materialised)`,
      requests: am.model.length,
      run: () => sim.simulate(azTrace, { ...base, sloMs: 1000, mode: "full", eviction: "lru", cluster: azCluster })
    }
  }
  // the default scenario's traffic shape: 2,000 models, 40 tenants, Zipf 0.9, on/off bursts, ~200 MiB models
  const generated = sim.generatedTrace({
    seed: 7, models: 2000, tenants: 40, zipf: 0.9, rate: 150, arrival: "onoff", onMs: 60_000, offMs: 600_000,
    sizeMedian: 200 * 1024 ** 2, sizeSigma: 0.8, execMedianMs: 8, execSigma: 0.6, requests: d.requests
  })
  const m = await sim.materialize(generated)
  const trace = sim.arrayTrace("bench", generated.models, m.timeMs, m.model, m.execMs)
  const cluster = { ...sim.defaultCluster, maxConcurrentLoads: 2, loadFixedMs: 150, loadBytesPerSecond: 2 * GIB, unloadMs: 20, modelConcurrency: 8, maxCopies: 3 }
  return {
    describe: `trace: ${m.model.length} requests over ${generated.models.ids.length} models (materialised)`,
    requests: m.model.length,
    run:
      d.workload === "ideal"
        ? () => sim.simulate(trace, { ...base, mode: "ideal", eviction: "lru", cluster: { ...cluster, instances: 1, memoryBytes: 64 * GIB } })
        : () => sim.simulate(trace, { ...base, mode: "full", eviction: "lru", cluster: { ...cluster, instances: 8, memoryBytes: 8 * GIB } })
  }
}

/** simulated requests per CPU-second of this process over `times` back-to-back simulations */
export const timedRate = async (w: SimWorkload, times: number): Promise<number> => {
  const t0 = cpuNowMs()
  let n = 0
  for (let k = 0; k < times; k++) n += (await w.run()).result.requests
  return n / ((cpuNowMs() - t0) / 1000)
}
