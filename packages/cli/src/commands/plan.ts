import { join } from "node:path"
import { parseBytes } from "@meshkit/core"
import {
  commandLine,
  DEFAULT_RESOLUTION,
  loadScenario,
  PlanError,
  planCapacity,
  planJson,
  planSummary,
  POLICY_FIELDS,
  progressBar,
  ScenarioError,
  writePlanReport,
  type PlanResult,
  type PolicyField,
  type Range
} from "@meshkit/sim"
import { parse, UsageError } from "../args.js"

const help = `usage: meshkit plan <scenario.yaml> --slo-p99 250ms [options]

Finds the cheapest configuration (instance count × memory per instance × policies) whose
full-mode simulation of the scenario's trace meets the latency objective, draws the Pareto
frontier of cost against p99 and cold starts, and prints the \`meshkit sim\` command that
reproduces the winner. Cost is the total memory, or the scenario's \`cost:\` prices
(cost: {perGiBHour: 0.005, perInstanceHour: 0.04, currency: "$"}).

The search is not a grid: per (instances, policies) candidate it bisects memory per instance on a
geometric grid (--resolution apart), assuming the objective is monotone in memory, and cuts short
every candidate that cannot beat a cheaper one already found. The winner is re-run at 60 % of its
memory (must miss: the answer is tight) and 150 % (must meet: the monotone assumption held).

Objective:
  --slo-p99 DURATION          p99 latency limit: 250ms, 0.25s, 900us (required)
  --max-cold-start-rate R     cold starts ÷ requests at most R: 0.01 or 1%

Search space (defaults from the scenario):
  --instances A..B            instance counts (default 1..2 × the scenario's); or one count: 4
  --memory MIN..MAX           memory per instance, e.g. 1GiB..64GiB (default: the largest model's
                              size (or the tenants' byte shares) .. the trace's total model bytes)
  --policies FIELD=A,B,...    policies to combine, per scenario policies field: eviction,
                              placement, scaling, routing (repeatable; eviction=online for every
                              online policy). Default: the scenario's online evictions and its
                              placement, scaling and routing, e.g.
                              --policies eviction=lru,gdsf --policies scaling=modelmesh,none
  --resolution P              memory grid step, default ${DEFAULT_RESOLUTION * 100}% (below 66%)

Other:
  --set KEY=VALUE             override a scenario field, as in meshkit sim (repeated in the
                              reproducing command)
  --workers N                 worker threads (default: one per core; 0 = run here)
  --out DIR                   report folder (default: reports/<scenario>): plan.html, plan.md, plan.json
  --no-report                 do not write the report
  --json                      print {"best", "frontier", "simulations", ...} (no progress bar)

Exit codes: 0 a configuration meets the objective; 1 none does (the closest is shown); 2 bad input.`

const options = {
  "slo-p99": { type: "string" },
  "max-cold-start-rate": { type: "string" },
  instances: { type: "string" },
  memory: { type: "string" },
  policies: { type: "string", multiple: true },
  resolution: { type: "string" },
  set: { type: "string", multiple: true },
  workers: { type: "string" },
  out: { type: "string" },
  "no-report": { type: "boolean" },
  json: { type: "boolean" }
} as const

/** 250ms, 0.25s, 900us, 250 (ms): milliseconds. */
export const parseDurationMs = (flag: string, text: string): number => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s)?\s*$/.exec(text)
  const v = m ? Number(m[1]) * (m[2] === "s" ? 1000 : m[2] === "us" || m[2] === "µs" ? 0.001 : 1) : NaN
  if (!(v > 0)) throw new UsageError(`--${flag} expects a duration above 0 like 250ms, 0.25s or 900us, got "${text}"`)
  return v
}

/** 0.01 or 1% */
const parseRate = (text: string): number => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text)
  const v = m ? Number(m[1]) / (m[2] === "%" ? 100 : 1) : NaN
  if (!(v >= 0 && v <= 1)) throw new UsageError(`--max-cold-start-rate expects a fraction from 0 to 1 (0.01) or a percentage (1%), got "${text}"`)
  return v
}

const parseRange = (flag: string, text: string, one: (s: string) => number): Range => {
  const parts = text.split("..")
  if (parts.length > 2 || parts.some((p) => p.trim() === "")) throw new UsageError(`--${flag} expects MIN..MAX or one value, got "${text}"`)
  const [min, max] = [one(parts[0]!), one(parts[parts.length - 1]!)]
  if (max < min) throw new UsageError(`--${flag} ${text}: the minimum is above the maximum`)
  return { min, max }
}

const count = (s: string): number => {
  const n = Number(s.trim())
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--instances expects whole numbers ≥ 1 (1..8, or 4), got "${s}"`)
  return n
}

const bytes = (s: string): number => {
  let n: number
  try {
    n = parseBytes(s.trim())
  } catch {
    throw new UsageError(`--memory expects sizes like 1GiB..64GiB, got "${s}"`)
  }
  if (n <= 0) throw new UsageError(`--memory sizes must be above 0, got "${s}"`)
  return n
}

const parsePolicies = (flags: readonly string[]): Partial<Record<PolicyField, string[]>> => {
  const out: Partial<Record<PolicyField, string[]>> = {}
  for (const flag of flags) {
    for (const part of flag.split(";").filter((p) => p.trim() !== "")) {
      const eq = part.indexOf("=")
      const field = part.slice(0, eq).trim()
      if (eq <= 0 || !(POLICY_FIELDS as readonly string[]).includes(field)) {
        throw new UsageError(`--policies expects FIELD=NAME,NAME with FIELD one of ${POLICY_FIELDS.join(", ")}, got "${part}"`)
      }
      const names = part.slice(eq + 1).split(",").map((s) => s.trim()).filter((s) => s !== "")
      if (names.length === 0) throw new UsageError(`--policies ${field}= needs at least one policy name`)
      if (out[field as PolicyField]) throw new UsageError(`--policies ${field} is given twice`)
      out[field as PolicyField] = names
    }
  }
  return out
}

export const run = async (argv: string[]): Promise<number> => {
  const a = parse(argv, options, help, true)
  if (!a) return 0
  const v = a.values
  if (a.positionals.length !== 1) throw new UsageError(a.positionals.length === 0 ? "give a scenario file: meshkit plan scenarios/x.yaml --slo-p99 250ms" : `one scenario file at a time, got ${a.positionals.join(" ")}`)
  if (v["slo-p99"] === undefined) throw new UsageError("--slo-p99 is required (the p99 latency to meet, e.g. 250ms)")
  const sloP99Ms = parseDurationMs("slo-p99", v["slo-p99"])
  const maxColdStartRate = v["max-cold-start-rate"] !== undefined ? parseRate(v["max-cold-start-rate"]) : undefined
  const instances = v.instances !== undefined ? parseRange("instances", v.instances, count) : undefined
  const memory = v.memory !== undefined ? parseRange("memory", v.memory, bytes) : undefined
  let resolution: number | undefined
  if (v.resolution !== undefined) {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(v.resolution)
    resolution = m ? Number(m[1]) / (m[2] === "%" ? 100 : 1) : NaN
    if (!(resolution > 0 && resolution < 2 / 3)) throw new UsageError(`--resolution expects a step above 0 and below 66% (5%, 0.05), got "${v.resolution}"`)
  }
  let workers: number | undefined
  if (v.workers !== undefined) {
    workers = Number(v.workers)
    if (!Number.isInteger(workers) || workers < 0) throw new UsageError(`--workers must be an integer ≥ 0, got "${v.workers}"`)
  }
  const policies = parsePolicies(v.policies ?? [])
  const sets = v.set ?? []
  const file = a.positionals[0]!

  const bar = progressBar({ quiet: v.json === true })
  let result: PlanResult
  try {
    const loaded = await loadScenario(file, { sets })
    result = await planCapacity(loaded, {
      sloP99Ms,
      ...(maxColdStartRate !== undefined ? { maxColdStartRate } : {}),
      ...(instances ? { instances } : {}),
      ...(memory ? { memory } : {}),
      ...(resolution !== undefined ? { resolution } : {}),
      ...(workers !== undefined ? { workers } : {}),
      policies,
      sets,
      onProgress: (s) => bar.update(s)
    })
  } catch (e) {
    if (e instanceof ScenarioError || e instanceof PlanError) throw new UsageError(e.message)
    throw e
  } finally {
    bar.finish()
  }

  let reportPath: string | undefined
  if (!v["no-report"]) {
    const written = await writePlanReport(v.out ?? join("reports", result.scenario), result, {
      generatedAt: new Date().toISOString(),
      command: `meshkit plan ${argv.join(" ")}`
    })
    reportPath = written.html
  }
  const code = result.best ? 0 : 1
  if (v.json) {
    console.log(JSON.stringify(planJson(result), null, 2))
    return code
  }
  const out = result.best ? console.log : console.error
  out(planSummary(result))
  if (result.reproduce) console.log(`\n${result.best ? "reproduce" : "closest"}: ${commandLine(result.reproduce)}`)
  for (const c of result.checks) {
    console.log(`check: at ${Math.round(c.factor * 100)} % memory it ${c.entry.meetsSlo ? "meets" : "misses"} the objective (p99 ${+(c.entry.p99Us / 1000).toFixed(1)} ms)${c.asExpected ? "" : " — NOT as a monotone response predicts"}`)
  }
  console.log(`frontier: ${result.frontier.length} configurations; ${result.simulations} simulations in ${result.wallSeconds.toFixed(1)} s (search space: ${result.space.candidates} candidates × ${result.space.gridSizes} memory sizes, ${Math.round(result.space.resolution * 100)} % apart)`)
  if (reportPath) console.log(`report: ${reportPath}`)
  return code
}
