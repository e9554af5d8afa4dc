/**
 * Does meshkit-adaptive lose anywhere? Replays every scenario (scenarios/*.yaml) in both modes at
 * every memory size it sweeps (its `cluster.memory` and `sweep.memory`), for every online
 * eviction policy, and prints per cell meshkit-adaptive's gap to the best other online policy on
 * cold-start seconds (full mode; in ideal mode every cold start lasts 0 s) and miss ratio, and in
 * ideal mode its miss ratio ÷ size-aware Belady's. Exits 1 when a cell misses the goal (issue 12):
 * within 1 % of the best online policy everywhere, and within 1.2× of belady-size at 16 and
 * 64 GiB on the Azure sample in ideal mode (those two sizes are added to its ideal cells).
 *
 *   nice -n 5 npx tsx packages/bench/src/policy/adaptive-check.ts [--scenarios default,azure-functions]
 *     [--modes ideal,full] [--workers 2] [--adaptive '{"option":1}'] [--tolerance 0.01] [--json FILE]
 *     [--reuse FILE]
 *
 * --reuse takes the other policies' results (and belady-size's) from an earlier --json file and
 * runs only meshkit-adaptive (and any online policy that file does not have yet, e.g. a new one):
 * they do not change while meshkit-adaptive is tuned.
 * --adaptive runs meshkit-adaptive with those options (to try settings without editing the file).
 * The Azure scenario reads MESHKIT_AZURE_DIR, else ../shared/traces/azure-functions-2019-sample.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { policiesOf, type PolicyChoice } from "@meshkit/core"
import { loadScenario, runJobs, scenarioConfig, type Job, type LoadedScenario, type Mode, type PolicyResult, type SimConfig } from "@meshkit/sim"

const GiB = 1024 ** 3
const ADAPTIVE = "meshkit-adaptive"
/** ideal-mode sizes on the Azure sample where the Belady ratio is a goal */
const BELADY_GIB = [16, 64]
const BELADY_LIMIT = 1.2

export interface Cell {
  readonly scenario: string
  readonly mode: Mode
  readonly memoryBytes: number
  /** online policy → its result */
  readonly results: ReadonlyMap<string, PolicyResult>
  readonly belady?: PolicyResult
}

export interface CellVerdict {
  readonly cell: Cell
  /** adaptive ÷ best other online − 1 (negative: adaptive is best), per metric */
  readonly gaps: ReadonlyArray<{ readonly metric: "coldStartSeconds" | "missRatio"; readonly gap: number; readonly best: string }>
  /** adaptive's miss ratio ÷ belady-size's (ideal cells that ran it) */
  readonly beladyRatio?: number
  readonly ok: boolean
  /**
   * whether any other online policy is itself within the tolerance of the best on every metric:
   * when none is (one policy best on cold-start seconds, another on the miss ratio, apart by more
   * than the tolerance), no single policy can meet the goal in that cell
   */
  readonly feasible: boolean
}

/** x vs the best y, as a ratio − 1; 0 when both are 0 */
const relGap = (x: number, best: number): number => (best === 0 ? (x === 0 ? 0 : Infinity) : x / best - 1)

export const judge = (cell: Cell, tolerance: number, beladyLimit = BELADY_LIMIT): CellVerdict => {
  const a = cell.results.get(ADAPTIVE)
  if (!a) throw new Error(`${cell.scenario}: no ${ADAPTIVE} result`)
  const metrics = cell.mode === "full" ? (["coldStartSeconds", "missRatio"] as const) : (["missRatio"] as const)
  const gaps = metrics.map((metric) => {
    let best = ""
    let bestV = Infinity
    for (const [p, r] of cell.results) {
      if (p !== ADAPTIVE && r[metric] < bestV) {
        bestV = r[metric]
        best = p
      }
    }
    return { metric, gap: relGap(a[metric], bestV), best }
  })
  const feasible = [...cell.results].some(
    ([p, r]) => p !== ADAPTIVE && gaps.every((g) => relGap(r[g.metric], cell.results.get(g.best)![g.metric]) <= tolerance)
  )
  const beladyRatio = cell.belady ? (cell.belady.missRatio === 0 ? 1 : a.missRatio / cell.belady.missRatio) : undefined
  const ok = gaps.every((g) => g.gap <= tolerance) && (beladyRatio === undefined || beladyRatio <= beladyLimit)
  return { cell, gaps, ...(beladyRatio !== undefined ? { beladyRatio } : {}), ok, feasible }
}

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, "../../../..")

interface Plan {
  readonly loaded: LoadedScenario
  readonly mode: Mode
  readonly memoryBytes: number
  readonly withBelady: boolean
}

const sizesOf = (l: LoadedScenario, mode: Mode): number[] => {
  const s = new Set<number>([l.cluster.memoryBytes, ...(l.scenario.sweep?.memory ?? [])])
  if (mode === "ideal" && l.scenario.trace.azure !== undefined) for (const g of BELADY_GIB) s.add(g * GiB)
  return [...s].sort((a, b) => a - b)
}

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      scenarios: { type: "string" },
      modes: { type: "string", default: "ideal,full" },
      workers: { type: "string", default: "2" },
      adaptive: { type: "string" },
      tolerance: { type: "string", default: "0.01" },
      json: { type: "string" },
      reuse: { type: "string" }
    }
  })
  const dir = resolve(root, "scenarios")
  const names = values.scenarios?.split(",") ?? readdirSync(dir).filter((f) => f.endsWith(".yaml")).map((f) => f.replace(/\.yaml$/, ""))
  const modes = values.modes!.split(",") as Mode[]
  const tolerance = Number(values.tolerance)
  const env = { ...process.env, MESHKIT_AZURE_DIR: process.env.MESHKIT_AZURE_DIR ?? resolve(root, "../shared/traces/azure-functions-2019-sample") }
  const online = policiesOf("eviction").filter((d) => d.offline !== true).map((d) => d.name)
  const adaptive: PolicyChoice | string = values.adaptive ? { name: ADAPTIVE, options: JSON.parse(values.adaptive) } : ADAPTIVE
  const choices = online.map((p) => (p === ADAPTIVE ? adaptive : p))

  const plans: Plan[] = []
  for (const n of names) {
    const loaded = await loadScenario(resolve(dir, `${n}.yaml`), { env })
    for (const mode of modes) {
      for (const m of sizesOf(loaded, mode)) {
        plans.push({ loaded, mode, memoryBytes: m, withBelady: mode === "ideal" && loaded.scenario.trace.azure !== undefined && BELADY_GIB.includes(m / GiB) })
      }
    }
  }
  const reused = new Map<string, SavedRow>()
  if (values.reuse) for (const r of JSON.parse(readFileSync(values.reuse, "utf8")) as SavedRow[]) reused.set(cellKey(r.scenario, r.mode, r.memoryBytes), r)
  const savedOf = (p: Plan): SavedRow | undefined => reused.get(cellKey(p.loaded.name, p.mode, p.memoryBytes))
  const jobs: Job[] = []
  const labels: string[] = []
  const configFor = (p: Plan, eviction: PolicyChoice | string): SimConfig => scenarioConfig(p.loaded, p.mode, eviction, { memoryBytes: p.memoryBytes })
  for (const p of plans) {
    const saved = savedOf(p)
    // reusing: meshkit-adaptive, and any online policy the saved row does not have (a new one)
    const evs = saved ? choices.filter((e) => e === adaptive || !((typeof e === "string" ? e : e.name) in saved.results)) : p.withBelady ? [...choices, "belady-size"] : choices
    for (const e of evs) {
      jobs.push({ source: p.loaded.source, config: configFor(p, e) })
      labels.push(`${p.loaded.name}/${p.mode}/${fmtBytes(p.memoryBytes)}/${typeof e === "string" ? e : e.name}`)
    }
  }
  const t0 = performance.now()
  let last = 0
  const outputs = await runJobs(jobs, {
    labels,
    workers: Number(values.workers),
    onProgress: (s) => {
      if (performance.now() - last < 5000) return
      last = performance.now()
      process.stderr.write(`  ${s.done}/${s.total} runs, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`)
    }
  })
  const verdicts: CellVerdict[] = []
  let k = 0
  for (const p of plans) {
    const results = new Map<string, PolicyResult>()
    const saved = savedOf(p)
    let belady: PolicyResult | undefined
    if (saved) {
      for (const e of choices) {
        const name = typeof e === "string" ? e : e.name
        const kept = saved.results[name]
        results.set(name, e !== adaptive && kept !== undefined ? (kept as PolicyResult) : outputs[k++]!.result)
      }
      if (saved.beladySize) belady = saved.beladySize as PolicyResult
    } else {
      for (const e of choices) results.set(typeof e === "string" ? e : e.name, outputs[k++]!.result)
      belady = p.withBelady ? outputs[k++]!.result : undefined
    }
    verdicts.push(judge({ scenario: p.loaded.name, mode: p.mode, memoryBytes: p.memoryBytes, results, ...(belady ? { belady } : {}) }, tolerance))
  }
  console.log(`adaptive-check: ${jobs.length} runs in ${((performance.now() - t0) / 1000).toFixed(0)} s, load average ${loadavg()}, tolerance ${(tolerance * 100).toFixed(1)} %`)
  console.log("| scenario | mode | memory | cold-start s: adaptive vs best other | gap | miss ratio: adaptive vs best other | gap | ÷ belady-size | ok |")
  console.log("|---|---|---|---|---|---|---|---|---|")
  // "NO*": no single online policy meets both metrics there (see CellVerdict.feasible)
  for (const v of verdicts) {
    const a = v.cell.results.get(ADAPTIVE)!
    const cs = v.gaps.find((g) => g.metric === "coldStartSeconds")
    const mr = v.gaps.find((g) => g.metric === "missRatio")!
    const best = (g: { best: string; metric: "coldStartSeconds" | "missRatio" }) => v.cell.results.get(g.best)![g.metric]
    console.log(
      `| ${v.cell.scenario} | ${v.cell.mode} | ${fmtBytes(v.cell.memoryBytes)} | ` +
        (cs ? `${a.coldStartSeconds.toFixed(1)} vs ${best(cs).toFixed(1)} (${cs.best}) | ${pct(cs.gap)} | ` : "– | – | ") +
        `${a.missRatio.toFixed(4)} vs ${best(mr).toFixed(4)} (${mr.best}) | ${pct(mr.gap)} | ` +
        `${v.beladyRatio !== undefined ? `${v.beladyRatio.toFixed(3)}×` : "–"} | ${v.ok ? "yes" : v.feasible ? "NO" : "NO*"} |`
    )
  }
  if (values.json) {
    const rows = verdicts.map((v) => ({
      scenario: v.cell.scenario,
      mode: v.cell.mode,
      memoryBytes: v.cell.memoryBytes,
      gaps: v.gaps,
      beladyRatio: v.beladyRatio ?? null,
      ok: v.ok,
      feasible: v.feasible,
      results: Object.fromEntries([...v.cell.results].map(([p, r]) => [p, { missRatio: r.missRatio, coldStartSeconds: r.coldStartSeconds, meanMemoryBytes: r.meanMemoryBytes }])),
      ...(v.cell.belady ? { beladySize: { missRatio: v.cell.belady.missRatio } } : {})
    }))
    writeFileSync(values.json, JSON.stringify(rows, null, 1))
  }
  const failed = verdicts.filter((v) => !v.ok).length
  const infeasible = verdicts.filter((v) => !v.ok && !v.feasible).length
  console.log(
    failed === 0
      ? "goal met in every cell"
      : `goal missed in ${failed} of ${verdicts.length} cells` + (infeasible > 0 ? ` (NO*: in ${infeasible} of them no single online policy is within the tolerance on both metrics)` : "")
  )
  process.exitCode = failed === 0 ? 0 : 1
}

/** a row of the --json file (what --reuse reads back) */
interface SavedRow {
  readonly scenario: string
  readonly mode: Mode
  readonly memoryBytes: number
  readonly results: Record<string, Pick<PolicyResult, "missRatio" | "coldStartSeconds" | "meanMemoryBytes">>
  readonly beladySize?: Pick<PolicyResult, "missRatio">
}
const cellKey = (scenario: string, mode: string, memoryBytes: number): string => `${scenario}/${mode}/${memoryBytes}`
const pct = (g: number): string => (Number.isFinite(g) ? `${g >= 0 ? "+" : ""}${(g * 100).toFixed(1)} %` : "∞")
const fmtBytes = (b: number): string => (b >= GiB ? `${+(b / GiB).toFixed(2)} GiB` : `${+(b / 1024 ** 2).toFixed(0)} MiB`)
const loadavg = (): string => {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")
  } catch {
    return "?"
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main()
