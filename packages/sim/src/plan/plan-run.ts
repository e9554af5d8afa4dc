import { availableParallelism } from "node:os"
import type { SimConfig } from "../engine/config.js"
import type { RunOutput } from "../metrics/result.js"
import { jobPool } from "../run/pool.js"
import type { ProgressState } from "../run/progress.js"
import { RunTracker } from "../run/tracker.js"
import { sharesConfig, type LoadedScenario } from "../scenario/load.js"
import { reproduceArgs, scenarioPolicies } from "./command.js"
import { costModel, type CostModel } from "./cost.js"
import { paretoFrontier } from "./frontier.js"
import { granularityFor, memoryGrid } from "./grid.js"
import { coldStartRate, meets, type Measured, type Objective } from "./objective.js"
import { searchPlan, type CandidateOutcome, type Probe } from "./search.js"
import { candidatesOf, checkRange, PlanError, policyLists, policySets, type PolicySet, type Range, type SpaceOptions } from "./space.js"
import { surveyTrace, type TraceSurvey } from "./survey.js"

export interface PlanOptions extends SpaceOptions {
  readonly sloP99Ms: number
  readonly maxColdStartRate?: number
  /** grid step as a fraction (0.05 = 5 %); below 2/3 so that 60 % of the winner's memory is off the grid's last miss */
  readonly resolution?: number
  /** the planner's --set flags, for the reproducing command */
  readonly sets?: ReadonlyArray<string>
  readonly workers?: number
  readonly onProgress?: (s: ProgressState) => void
}

/** One simulated configuration as the planner reports it (`policies` in the scenario's field names). */
export interface PlanEntry {
  readonly instances: number
  readonly memoryPerInstanceBytes: number
  readonly policies: ReturnType<typeof scenarioPolicies>
  readonly p99Us: number
  readonly coldStarts: number
  readonly coldStartRate: number
  readonly totalMemoryBytes: number
  readonly requests: number
  readonly failed: number
  /** per hour, with the scenario's cost model; absent when ranking by total memory */
  readonly cost?: number
  readonly meetsSlo: boolean
}

/** A re-run of the winner at another memory size, and whether it came out as monotonicity predicts. */
export interface PlanCheck {
  readonly factor: number
  readonly entry: PlanEntry
  readonly expected: "meets" | "misses"
  readonly asExpected: boolean
}

export interface PlanResult {
  readonly scenario: string
  readonly file: string
  readonly objective: { readonly sloP99Ms: number; readonly maxColdStartRate?: number }
  readonly costModel: CostModel
  readonly space: {
    readonly instances: Range
    readonly memory: Range
    readonly resolution: number
    readonly gridSizes: number
    readonly policies: Record<string, ReadonlyArray<unknown>>
    readonly candidates: number
  }
  readonly survey?: TraceSurvey
  readonly best?: PlanEntry
  /** when nothing meets the objective: the configuration that came closest */
  readonly closest?: PlanEntry
  readonly frontier: ReadonlyArray<PlanEntry>
  readonly evaluated: ReadonlyArray<PlanEntry>
  readonly outcomes: ReadonlyArray<{ readonly instances: number; readonly policies: PlanEntry["policies"]; readonly status: CandidateOutcome<PolicySet>["status"]; readonly smallestMemoryBytes?: number; readonly simulations: number }>
  readonly checks: ReadonlyArray<PlanCheck>
  readonly simulations: number
  /** `meshkit sim` arguments that reproduce the best (or the closest) configuration */
  readonly reproduce?: ReadonlyArray<string>
  readonly wallSeconds: number
}

export const DEFAULT_RESOLUTION = 0.05
/** The winner is re-run at these fractions of its memory: below must miss (tight), above must meet (monotone). */
export const CHECK_BELOW = 0.6
export const CHECK_ABOVE = 1.5

/**
 * `meshkit plan`: the cheapest configuration (instances × memory per instance × policies) that
 * meets the objective on the scenario's trace in full mode, found by searchPlan on one pool of
 * worker threads, then re-checked at 60 % and 150 % of its memory.
 */
export const planCapacity = async (loaded: LoadedScenario, opts: PlanOptions): Promise<PlanResult> => {
  const started = performance.now()
  const s = loaded.scenario
  if (!(opts.sloP99Ms > 0)) throw new PlanError({ message: `--slo-p99 must be above 0 ms` })
  const resolution = opts.resolution ?? DEFAULT_RESOLUTION
  if (!(resolution > 0 && resolution < 2 / 3)) throw new PlanError({ message: `--resolution must be between 0 and 66% (exclusive), got ${resolution}` })
  const instances = opts.instances ?? { min: 1, max: 2 * s.cluster.instances }
  checkRange("instances", instances, true)
  const lists = policyLists(loaded, opts.policies)
  const sets = policySets(lists)

  // default memory bounds: the largest model (or the tenants' byte shares) up to every model at once
  let survey: TraceSurvey | undefined
  let memory = opts.memory
  if (memory === undefined) {
    survey = await surveyTrace(loaded.source)
    const shares = s.tenants.reduce((a, t) => a + ("bytes" in t.memory ? t.memory.bytes : 0), 0)
    const min = Math.max(survey.largestModelBytes, shares, 1024 ** 2)
    memory = { min, max: Math.max(min, survey.totalModelBytes) }
  }
  checkRange("memory", memory, false)
  const grid = memoryGrid(memory.min, memory.max, resolution, granularityFor(memory.min))
  const cm = costModel(s.cost)
  const objective: Objective = { p99Us: opts.sloP99Ms * 1000, ...(opts.maxColdStartRate !== undefined ? { maxColdStartRate: opts.maxColdStartRate } : {}) }
  const candidates = candidatesOf(instances, sets).sort((a, b) => cm.of(a.instances, grid[0]!) - cm.of(b.instances, grid[0]!) || a.index - b.index)

  const configFor = (n: number, memoryBytes: number, p: PolicySet): SimConfig => ({
    mode: "full",
    cluster: { ...loaded.cluster, instances: n, memoryBytes },
    eviction: p.eviction,
    placement: p.placement,
    routing: p.routing,
    scaling: p.scaling,
    seed: s.seed,
    sloMs: opts.sloP99Ms,
    ...(s.tenants.length > 0 ? { shares: sharesConfig(s) } : {})
  })
  const workers = Math.max(0, opts.workers ?? availableParallelism())
  const tracker = new RunTracker(candidates.length, opts.onProgress, survey?.requests)
  const pool = jobPool({ workers, tracker })
  const measure = (o: RunOutput): Measured => ({ p99Us: o.result.latencyUs.p99, coldStarts: o.result.coldStarts, requests: o.result.requests, failed: o.result.failed })
  const run = async (n: number, m: number, p: PolicySet) =>
    measure(await pool.run({ source: loaded.source, config: configFor(n, m, p) }, `${n}×${gibLabel(m)} ${label(p.eviction)}`))

  const entry = (n: number, m: number, p: PolicySet, x: Measured): PlanEntry => ({
    instances: n,
    memoryPerInstanceBytes: m,
    policies: scenarioPolicies(p),
    p99Us: x.p99Us,
    coldStarts: x.coldStarts,
    coldStartRate: coldStartRate(x),
    totalMemoryBytes: n * m,
    requests: x.requests,
    failed: x.failed,
    ...(cm.priced ? { cost: cm.of(n, m) } : {}),
    meetsSlo: meets(x, objective)
  })
  const fromProbe = (p: Probe<PolicySet>) => entry(p.candidate.instances, p.memoryBytes, p.candidate.policies, p.measured)

  const CHECKS = 2
  try {
    const result = await searchPlan({
      candidates,
      grid,
      cost: cm.of,
      objective,
      evaluate: (c, m) => run(c.instances, m, c.policies),
      lanes: Math.max(1, workers),
      onEstimate: (total) => tracker.plan(total + CHECKS, true)
    })
    tracker.plan(result.simulations + CHECKS, false)
    const checks: PlanCheck[] = []
    const bestProbe = result.best
    if (bestProbe) {
      const g = granularityFor(memory.min)
      const at = (f: number) => Math.max(g, Math.floor((bestProbe.memoryBytes * f) / g) * g)
      const { instances: n, policies: p } = bestProbe.candidate
      const [below, above] = await Promise.all([run(n, at(CHECK_BELOW), p), run(n, at(CHECK_ABOVE), p)])
      checks.push({ factor: CHECK_BELOW, entry: entry(n, at(CHECK_BELOW), p, below), expected: "misses", asExpected: !meets(below, objective) })
      checks.push({ factor: CHECK_ABOVE, entry: entry(n, at(CHECK_ABOVE), p, above), expected: "meets", asExpected: meets(above, objective) })
    } else tracker.plan(result.simulations, false)

    const evaluated = [...result.probes.map(fromProbe), ...checks.map((c) => c.entry)]
    const costOf = (e: PlanEntry) => cm.of(e.instances, e.memoryPerInstanceBytes)
    const frontier = paretoFrontier(evaluated, [costOf, (e) => e.p99Us, (e) => e.coldStarts]).sort((a, b) => costOf(a) - costOf(b) || a.p99Us - b.p99Us)
    let closestProbe: Probe<PolicySet> | undefined
    if (!bestProbe) for (const p of result.probes) if (!closestProbe || p.violation < closestProbe.violation || (p.violation === closestProbe.violation && p.cost < closestProbe.cost)) closestProbe = p
    const shown = bestProbe ?? closestProbe
    return {
      scenario: loaded.name,
      file: loaded.file,
      objective: { sloP99Ms: opts.sloP99Ms, ...(opts.maxColdStartRate !== undefined ? { maxColdStartRate: opts.maxColdStartRate } : {}) },
      costModel: cm,
      space: { instances, memory, resolution, gridSizes: grid.length, policies: { ...lists }, candidates: candidates.length },
      ...(survey ? { survey } : {}),
      ...(bestProbe ? { best: fromProbe(bestProbe) } : {}),
      ...(closestProbe ? { closest: fromProbe(closestProbe) } : {}),
      frontier,
      evaluated,
      outcomes: [...result.outcomes]
        .sort((a, b) => a.candidate.index - b.candidate.index)
        .map((o) => ({
          instances: o.candidate.instances,
          policies: scenarioPolicies(o.candidate.policies),
          status: o.status,
          ...(o.smallest ? { smallestMemoryBytes: o.smallest.memoryBytes } : {}),
          simulations: o.simulations
        })),
      checks,
      simulations: result.simulations + checks.length,
      ...(shown
        ? {
            reproduce: reproduceArgs({
              scenarioFile: loaded.file,
              sets: opts.sets ?? [],
              instances: shown.candidate.instances,
              memoryBytes: shown.memoryBytes,
              policies: shown.candidate.policies,
              sloMs: opts.sloP99Ms,
              scenarioMode: s.mode
            })
          }
        : {}),
      wallSeconds: (performance.now() - started) / 1000
    }
  } finally {
    await pool.close()
  }
}

/** The `--json` object: the fields first, then what a script may want besides. */
export const planJson = (r: PlanResult) => {
  const pick = (e: PlanEntry) => ({
    instances: e.instances,
    memoryPerInstanceBytes: e.memoryPerInstanceBytes,
    policies: e.policies,
    p99Us: e.p99Us,
    coldStarts: e.coldStarts,
    totalMemoryBytes: e.totalMemoryBytes,
    ...(e.cost !== undefined ? { cost: e.cost } : {}),
    coldStartRate: e.coldStartRate,
    meetsSlo: e.meetsSlo
  })
  return {
    best: r.best ? pick(r.best) : null,
    frontier: r.frontier.map(pick),
    simulations: r.simulations,
    ...(r.closest ? { closest: pick(r.closest) } : {}),
    scenario: r.scenario,
    objective: r.objective,
    costModel: r.costModel.name,
    space: r.space,
    checks: r.checks.map((c) => ({ factor: c.factor, expected: c.expected, asExpected: c.asExpected, ...pick(c.entry) })),
    outcomes: r.outcomes,
    command: r.reproduce ? ["meshkit", ...r.reproduce] : null,
    wallSeconds: r.wallSeconds
  }
}

const label = (c: PolicySet["eviction"]): string => (typeof c === "string" ? c : c.name)
const gibLabel = (b: number): string => (b >= 1024 ** 3 ? `${+(b / 1024 ** 3).toFixed(2)}GiB` : `${Math.round(b / 1024 ** 2)}MiB`)
