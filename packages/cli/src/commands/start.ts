import { fileURLToPath } from "node:url"
import { join } from "node:path"
import { comparisonText, loadScenario, progressBar, runScenario, writeSimReport } from "@meshkit/sim"
import { parse, UsageError } from "../args.js"

const help = `usage: meshkit start [--out DIR] [--workers N]

The main job: runs the default scenario (scenarios/default.yaml: a spiky multi-tenant trace on a
small cluster) under every online eviction policy, prints the comparison and writes the report
(default reports/default/). For your own traces see meshkit sim --help.`

const DEFAULT_SCENARIO = fileURLToPath(new URL("../../../../scenarios/default.yaml", import.meta.url))

export const run = async (argv: string[]): Promise<number> => {
  const a = parse(argv, { out: { type: "string" }, workers: { type: "string" } }, help)
  if (!a) return 0
  const workers = a.values.workers === undefined ? undefined : Number(a.values.workers)
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 0)) throw new UsageError(`--workers must be an integer ≥ 0, got "${a.values.workers}"`)
  const loaded = await loadScenario(DEFAULT_SCENARIO)
  const bar = progressBar()
  const started = performance.now()
  let result
  try {
    result = await runScenario(loaded, {
      ...(workers !== undefined ? { workers } : {}),
      onProgress: (s) => bar.update(s)
    })
  } finally {
    bar.finish()
  }
  const written = await writeSimReport(a.values.out ?? join("reports", loaded.name), result, {
    generatedAt: new Date().toISOString(),
    command: `meshkit start ${argv.join(" ")}`.trim()
  })
  const first = result.runs[0]?.result
  console.log(`${loaded.name}: ${loaded.scenario.description}`)
  console.log(
    `${first?.requests.toLocaleString("en-US") ?? 0} requests, ${loaded.cluster.instances} instances × ${+(loaded.cluster.memoryBytes / 1024 ** 3).toFixed(2)} GiB, ` +
      `${result.runs.length} eviction policies (${((performance.now() - started) / 1000).toFixed(1)} s)\n`
  )
  console.log(comparisonText(result.runs.map((r) => r.result), result.mode))
  console.log(`\nreport: ${written.html}`)
  return 0
}
