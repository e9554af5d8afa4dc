import type { PolicyChoice } from "@meshkit/core"
import { policyLabel, type Mode, type SimConfig } from "../engine/config.js"
import type { RunOutput } from "../metrics/result.js"
import { sharesConfig, type LoadedScenario } from "../scenario/load.js"
import { runJobs } from "./parallel.js"
import type { Job } from "./job.js"
import type { ProgressState } from "./progress.js"
import type { Sweep } from "../scenario/schema.js"

/** One point of the sweep: one policy at one memory size per instance and one instance count. */
export interface SweepPoint {
  readonly policy: string
  readonly memoryBytes: number
  /** instances in the cluster (full mode; 1 in ideal mode) */
  readonly instances: number
  readonly missRatio: number
  readonly byteMissRatio: number
  readonly coldStarts: number
  readonly coldStartSeconds: number
  readonly p99Us: number
  /** time-weighted mean of the memory models hold across the cluster */
  readonly meanMemoryBytes: number
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

/** The simulator's configuration for one run of a scenario: its cluster at `at`, its policies with `eviction`. */
export const scenarioConfig = (loaded: LoadedScenario, mode: Mode, eviction: PolicyChoice | string, at: { readonly memoryBytes: number; readonly instances?: number }): SimConfig => {
  const s = loaded.scenario
  return {
    mode,
    cluster: { ...loaded.cluster, memoryBytes: at.memoryBytes, ...(mode === "full" && at.instances !== undefined ? { instances: at.instances } : {}) },
    eviction,
    placement: s.policies.placement,
    routing: s.policies.routing,
    scaling: s.policies.scaling,
    seed: s.seed,
    sloMs: s.slo.latencyMs,
    ...(s.tenants.length > 0 ? { shares: sharesConfig(s) } : {})
  }
}

/** Every eviction policy at the scenario's memory and instances, plus each policy at each sweep point. */
export const runScenario = async (loaded: LoadedScenario, opts: RunScenarioOptions = {}): Promise<ScenarioRun> => {
  const s = loaded.scenario
  const mode = opts.mode ?? s.mode
  const evictions = opts.evictions ?? loaded.evictions
  const configFor = (eviction: PolicyChoice | string, at: GridPoint): SimConfig => scenarioConfig(loaded, mode, eviction, at)
  const main = { memoryBytes: loaded.cluster.memoryBytes, instances: mode === "ideal" ? 1 : loaded.cluster.instances }
  const grid = opts.noSweep ? [] : sweepGrid(s.sweep, main, mode)
  const jobs: Job[] = []
  const labels: string[] = []
  const add = (e: PolicyChoice | string, at: GridPoint, label: string) => {
    jobs.push({ source: loaded.source, config: configFor(e, at) })
    labels.push(label)
  }
  for (const e of evictions) add(e, main, policyLabel(e))
  const others = grid.filter((g) => g.memoryBytes !== main.memoryBytes || g.instances !== main.instances)
  const showInstances = grid.some((g) => g.instances !== main.instances)
  for (const g of others) {
    for (const e of evictions) add(e, g, `${policyLabel(e)}@${gib(g.memoryBytes)}${showInstances ? `×${g.instances}` : ""}`)
  }
  const outputs = await runJobs(jobs, {
    labels,
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {})
  })
  const runs = outputs.slice(0, evictions.length)
  const point = (o: RunOutput, at: GridPoint): SweepPoint => ({
    policy: o.result.policy,
    memoryBytes: at.memoryBytes,
    instances: at.instances,
    missRatio: o.result.missRatio,
    byteMissRatio: o.result.byteMissRatio,
    coldStarts: o.result.coldStarts,
    coldStartSeconds: o.result.coldStartSeconds,
    p99Us: o.result.latencyUs.p99,
    meanMemoryBytes: o.result.meanMemoryBytes
  })
  const sweep: SweepPoint[] = []
  for (const g of grid) {
    const k = others.indexOf(g)
    const slice = k < 0 ? runs : outputs.slice(evictions.length * (k + 1), evictions.length * (k + 2))
    slice.forEach((o) => sweep.push(point(o, g)))
  }
  return { loaded, mode, runs, sweep }
}

interface GridPoint {
  readonly memoryBytes: number
  readonly instances: number
}

/**
 * Every (instances, memory) pair of the sweep, the scenario's own values included, by instances
 * then memory; empty without a sweep. Ideal mode has one cache, so instance counts collapse.
 */
export const sweepGrid = (sweep: Sweep | undefined, main: GridPoint, mode: Mode): GridPoint[] => {
  if (!sweep) return []
  const memories = [...new Set([...(sweep.memory ?? []), main.memoryBytes])].sort((a, b) => a - b)
  const counts = mode === "ideal" ? [1] : [...new Set([...(sweep.instances ?? []), main.instances])].sort((a, b) => a - b)
  const out: GridPoint[] = []
  for (const instances of counts) for (const memoryBytes of memories) out.push(instances === main.instances && memoryBytes === main.memoryBytes ? main : { memoryBytes, instances })
  return out.length > 1 ? out : []
}

const gib = (b: number): string => {
  const g = b / 1024 ** 3
  return g >= 1 ? `${+g.toFixed(2)}GiB` : `${+(b / 1024 ** 2).toFixed(1)}MiB`
}
