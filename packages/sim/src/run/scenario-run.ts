import type { PolicyChoice } from "@meshkit/core"
import { policyLabel, type Mode, type SimConfig } from "../engine/config.js"
import type { RunOutput } from "../metrics/result.js"
import { sharesConfig, type LoadedScenario } from "../scenario/load.js"
import { runJobs } from "./parallel.js"
import type { Job } from "./job.js"
import type { ProgressState } from "./progress.js"

/** One point of the memory sweep: one policy at one memory size per instance. */
export interface SweepPoint {
  readonly policy: string
  readonly memoryBytes: number
  readonly missRatio: number
  readonly byteMissRatio: number
  readonly coldStarts: number
  readonly coldStartSeconds: number
  readonly p99Us: number
}

export interface ScenarioRun {
  readonly loaded: LoadedScenario
  readonly mode: Mode
  /** one per eviction policy, at the scenario's memory */
  readonly runs: readonly RunOutput[]
  readonly sweep: readonly SweepPoint[]
}

export interface RunScenarioOptions {
  /** override the scenario's mode (--ideal) */
  readonly mode?: Mode
  /** override the eviction policies to compare (--policy) */
  readonly evictions?: ReadonlyArray<PolicyChoice | string>
  /** skip the memory sweep */
  readonly noSweep?: boolean
  readonly workers?: number
  readonly onProgress?: (s: ProgressState) => void
}

/** Every eviction policy at the scenario's memory, plus each policy at each sweep size. */
export const runScenario = async (loaded: LoadedScenario, opts: RunScenarioOptions = {}): Promise<ScenarioRun> => {
  const s = loaded.scenario
  const mode = opts.mode ?? s.mode
  const evictions = opts.evictions ?? loaded.evictions
  const configFor = (eviction: PolicyChoice | string, memoryBytes: number): SimConfig => ({
    mode,
    cluster: { ...loaded.cluster, memoryBytes },
    eviction,
    placement: s.policies.placement,
    routing: s.policies.routing,
    scaling: s.policies.scaling,
    seed: s.seed,
    sloMs: s.slo.latencyMs,
    ...(s.tenants.length > 0 ? { shares: sharesConfig(s) } : {})
  })
  const main = loaded.cluster.memoryBytes
  const sizes = opts.noSweep || !s.sweep ? [] : [...new Set(s.sweep.memory)].filter((m) => m !== main).sort((a, b) => a - b)
  const jobs: Job[] = []
  const labels: string[] = []
  for (const e of evictions) {
    jobs.push({ source: loaded.source, config: configFor(e, main) })
    labels.push(policyLabel(e))
  }
  for (const m of sizes) {
    for (const e of evictions) {
      jobs.push({ source: loaded.source, config: configFor(e, m) })
      labels.push(`${policyLabel(e)}@${gib(m)}`)
    }
  }
  const outputs = await runJobs(jobs, {
    labels,
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {})
  })
  const runs = outputs.slice(0, evictions.length)
  const point = (o: RunOutput, memoryBytes: number): SweepPoint => ({
    policy: o.result.policy,
    memoryBytes,
    missRatio: o.result.missRatio,
    byteMissRatio: o.result.byteMissRatio,
    coldStarts: o.result.coldStarts,
    coldStartSeconds: o.result.coldStartSeconds,
    p99Us: o.result.latencyUs.p99
  })
  const sweep: SweepPoint[] = []
  if (sizes.length > 0) {
    const all = [...sizes, main].sort((a, b) => a - b)
    for (const m of all) {
      if (m === main) runs.forEach((o) => sweep.push(point(o, m)))
      else {
        const k = sizes.indexOf(m)
        outputs.slice(evictions.length * (k + 1), evictions.length * (k + 2)).forEach((o) => sweep.push(point(o, m)))
      }
    }
  }
  return { loaded, mode, runs, sweep }
}

const gib = (b: number): string => {
  const g = b / 1024 ** 3
  return g >= 1 ? `${+g.toFixed(2)}GiB` : `${+(b / 1024 ** 2).toFixed(1)}MiB`
}
