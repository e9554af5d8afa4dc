// temporary: run given eviction choices over the adaptive-check cells, compare with saved best
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { loadScenario, runJobs, scenarioConfig, type Job } from "@meshkit/sim"
const [savedFile, choicesJson, modes = "full", scen = ""] = process.argv.slice(2)
const saved = JSON.parse(readFileSync(savedFile!, "utf8")) as any[]
const choices = JSON.parse(choicesJson!) as any[]
const env = { ...process.env, MESHKIT_AZURE_DIR: "/work/shared/traces/azure-functions-2019-sample" }
const cache = new Map<string, any>()
const jobs: Job[] = []; const meta: any[] = []
for (const row of saved) {
  if (!modes.split(",").includes(row.mode)) continue
  if (scen && !scen.split(",").includes(row.scenario)) continue
  let l = cache.get(row.scenario)
  if (!l) { l = await loadScenario(resolve("scenarios", `${row.scenario}.yaml`), { env }); cache.set(row.scenario, l) }
  for (const c of choices) { jobs.push({ source: l.source, config: scenarioConfig(l, row.mode, c, { memoryBytes: row.memoryBytes }) }); meta.push({ row, c }) }
}
const out = await runJobs(jobs, { workers: 2 })
const label = (c: any) => typeof c === "string" ? c : c.label ?? JSON.stringify(c)
for (let i = 0; i < out.length; i++) {
  const { row, c } = meta[i]; const r = out[i]!.result
  const others = Object.entries(row.results).filter(([p]) => p !== "meshkit-adaptive") as [string, any][]
  const best = (m: string) => others.reduce((b, [p, v]) => v[m] < b[1] ? [p, v[m]] : b, ["", Infinity] as [string, number])
  const bc = best("coldStartSeconds"), bm = best("missRatio")
  const g = (x: number, b: number) => b === 0 ? (x === 0 ? 0 : Infinity) : x / b - 1
  const gc = g(r.coldStartSeconds, bc[1]), gm = g(r.missRatio, bm[1])
  const ok = (row.mode === "ideal" || gc <= 0.01) && gm <= 0.01
  console.log(`${row.scenario.padEnd(16)} ${row.mode} ${(row.memoryBytes / 2 ** 30).toString().padStart(5)}G ${label(c).padEnd(30)} cs ${r.coldStartSeconds.toFixed(0).padStart(7)} ${(gc * 100).toFixed(1).padStart(6)}% (${bc[0]})  mr ${r.missRatio.toFixed(4)} ${(gm * 100).toFixed(1).padStart(6)}% (${bm[0]}) ${ok ? "" : "NO"}`)
}
