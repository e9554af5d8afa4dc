import { statSync } from "node:fs"
import { basename, extname, join } from "node:path"
import { policiesOf } from "@meshkit/core"
import {
  comparisonText,
  isOracleGeneralPath,
  loadScenario,
  progressBar,
  runScenario,
  scenarioFrom,
  ScenarioError,
  writeSimReport,
  type LoadedScenario,
  type ScenarioRun
} from "@meshkit/sim"
import { parse, UsageError } from "../args.js"

const help = `usage: meshkit sim <scenario.yaml> [options]
       meshkit sim --trace FILE [--trace-format csv|azure] --capacity SIZE [options]

Replays a request trace through the simulated cluster once per eviction policy, with the same
policy code as the server, and compares miss ratio, cold starts, latency and memory.

Scenario (scenarios/*.yaml):
  --set KEY=VALUE        override a scenario field (repeatable; VALUE is YAML), e.g.
                         --set trace.azure.dir=../shared/traces/azure-functions-2019-sample
                         --set cluster.memory=32GiB --set policies.eviction=[lru,gdsf]
  --out DIR              report folder (default: reports/<scenario>)
  --no-report            do not write report.json / report.md / report.html
  --no-sweep             skip the scenario's sweep (sweep: {memory: [...], instances: [...]}:
                         every policy at every memory size × instance count, one progress
                         line with a time estimate)

Trace file instead of a scenario:
  --trace FILE           CSV (time_ms,model,size_bytes[,tenant][,exec_ms]) or the Azure Functions
                         2019 folder (*_inv.csv, *_mem.csv, *_run.csv)
  --trace-format F       csv | azure | oracleGeneral (default: azure for a folder, oracleGeneral
                         for a .oracleGeneral or .oracleGeneral.zst file, csv otherwise)
  --minutes N            azure: only the first N minutes
  --capacity SIZE        memory per instance, e.g. 16GiB, 512MiB (required)
  --instances N          instances in full mode (default 1)
  --out DIR              also write a report there

Both:
  --ideal                ideal cache mode: one cache of the capacity, zero load and execution
                         time (a pure cache replay: miss ratios comparable to cache simulators)
  --policy A,B,...       eviction policies to compare (default with --trace: every online policy
                         plus the belady bounds; with a scenario: its policies.eviction)
  --seed N               seed for the scenario's randomness
  --workers N            worker threads (default: one per core; 0 = run here)
  --json                 print a JSON array, one object per policy (no progress bar, no table)`

const options = {
  set: { type: "string", multiple: true },
  out: { type: "string" },
  "no-report": { type: "boolean" },
  "no-sweep": { type: "boolean" },
  trace: { type: "string" },
  "trace-format": { type: "string" },
  minutes: { type: "string" },
  capacity: { type: "string" },
  instances: { type: "string" },
  ideal: { type: "boolean" },
  policy: { type: "string" },
  seed: { type: "string" },
  workers: { type: "string" },
  json: { type: "boolean" }
} as const

const int = (name: string, v: string | undefined, min: number): number | undefined => {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${v}"`)
  return n
}

export const run = async (argv: string[]): Promise<number> => {
  const a = parse(argv, options, help, true)
  if (!a) return 0
  const v = a.values
  const positional = a.positionals
  if (positional.length > 1) throw new UsageError(`one scenario file at a time, got ${positional.join(" ")}`)
  if (positional.length === 1 && v.trace !== undefined) throw new UsageError(`give a scenario file or --trace, not both`)
  if (positional.length === 0 && v.trace === undefined) throw new UsageError(`give a scenario file or --trace FILE`)

  const workers = int("workers", v.workers, 0)
  const seed = int("seed", v.seed, 0)
  const policies = v.policy?.split(",").map((s) => s.trim()).filter((s) => s !== "")
  if (policies !== undefined && policies.length === 0) throw new UsageError("--policy needs at least one policy name")

  let loaded: LoadedScenario
  const sets = [...(v.set ?? [])]
  if (seed !== undefined) sets.push(`seed=${seed}`)
  if (policies !== undefined) sets.push(`policies.eviction=${JSON.stringify(policies)}`)
  if (positional.length === 1) {
    for (const flag of ["trace-format", "minutes", "capacity", "instances"] as const) {
      if (v[flag] !== undefined) throw new UsageError(`--${flag} goes with --trace; in a scenario use --set (e.g. --set cluster.memory=16GiB)`)
    }
  }
  try {
    loaded = positional.length === 1 ? await loadScenario(positional[0]!, { sets }) : fromTraceFlags(v, sets)
  } catch (e) {
    // a scenario (file, flags or --set) that does not validate is bad input: exit 2, as in fidelity
    if (e instanceof ScenarioError) throw new UsageError(e.message)
    throw e
  }

  const quiet = v.json === true
  const bar = progressBar({ quiet })
  let result: ScenarioRun
  try {
    result = await runScenario(loaded, {
      ...(v.ideal ? { mode: "ideal" as const } : {}),
      ...(v["no-sweep"] ? { noSweep: true } : {}),
      ...(workers !== undefined ? { workers } : {}),
      onProgress: (s) => bar.update(s)
    })
  } finally {
    bar.finish()
  }

  const wantReport = positional.length === 1 ? !v["no-report"] : v.out !== undefined
  let reportPath: string | undefined
  if (wantReport) {
    const dir = v.out ?? join("reports", loaded.name)
    const written = await writeSimReport(dir, result, {
      generatedAt: new Date().toISOString(),
      command: `meshkit sim ${argv.join(" ")}`
    })
    reportPath = written.html
  }

  if (v.json) {
    console.log(JSON.stringify(result.runs.map((r) => r.result), null, 2))
    return 0
  }
  const first = result.runs[0]?.result
  console.log(
    `${loaded.name}: ${first ? first.requests.toLocaleString("en-US") : 0} requests, ${result.mode} mode` +
      (result.mode === "full" ? `, ${loaded.cluster.instances} instance(s)` : "") +
      `, ${formatGiB(loaded.cluster.memoryBytes)} per instance\n`
  )
  console.log(comparisonText(result.runs.map((r) => r.result), result.mode))
  if (reportPath) console.log(`\nreport: ${reportPath}`)
  return 0
}

const formatGiB = (b: number) => `${+(b / 1024 ** 3).toFixed(2)} GiB`

/** `--trace FILE ...` becomes a scenario document, validated like any scenario file. */
const fromTraceFlags = (v: Record<string, unknown>, sets: string[]): LoadedScenario => {
  const file = v.trace as string
  const capacity = v.capacity as string | undefined
  if (capacity === undefined) throw new UsageError(`--trace needs --capacity (memory per instance, e.g. 16GiB)`)
  let format = v["trace-format"] as string | undefined
  if (format === undefined) {
    let dir = false
    try {
      dir = statSync(file).isDirectory()
    } catch {
      // missing file: the trace source reports it with its own message
    }
    format = dir ? "azure" : isOracleGeneralPath(file) ? "oracleGeneral" : "csv"
  }
  if (format !== "csv" && format !== "azure" && format !== "oracleGeneral") throw new UsageError(`--trace-format must be csv, azure or oracleGeneral, got "${format}"`)
  const minutes = int("minutes", v.minutes as string | undefined, 1)
  if (minutes !== undefined && format !== "azure") throw new UsageError("--minutes applies to --trace-format azure only")
  const instances = int("instances", v.instances as string | undefined, 1) ?? 1
  const doc = {
    name: basename(file, extname(file)).replace(/[^A-Za-z0-9._-]+/g, "-") || "trace",
    trace:
      format === "csv" ? { csv: { path: file } }
      : format === "oracleGeneral" ? { oracleGeneral: { path: file } }
      : { azure: { dir: file, ...(minutes ? { minutes } : {}) } },
    cluster: { instances, memory: capacity },
    policies: { eviction: policiesOf("eviction").map((d) => d.name), scaling: "none" }
  }
  return scenarioFrom(doc, "(command line)", { sets })
}
