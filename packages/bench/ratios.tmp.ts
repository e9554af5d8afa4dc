// temporary: for each full cell, ideal miss ratios at instances × memory (the cluster-wide view) vs full results
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { loadScenario, runJobs, scenarioConfig, type Job } from "@meshkit/sim"
const [savedFile, fullFile] = process.argv.slice(2)
const saved = JSON.parse(readFileSync(savedFile!, "utf8")) as any[]
const env = { ...process.env, MESHKIT_AZURE_DIR: "/work/shared/traces/azure-functions-2019-sample" }
const pols = ["lru", { name: "gdsf", options: { cost: "load" } }, "next-arrival", { name: "next-arrival", options: { cost: "load" } }]
const cache = new Map<string, any>()
const jobs: Job[] = []; const meta: any[] = []
for (const row of saved) {
  if (row.mode !== "full") continue
  let l = cache.get(row.scenario)
  if (!l) { l = await loadScenario(resolve("scenarios", `${row.scenario}.yaml`), { env }); cache.set(row.scenario, l) }
  for (const p of pols) { jobs.push({ source: l.source, config: scenarioConfig(l, "ideal", p, { memoryBytes: row.memoryBytes * l.cluster.instances }) }); meta.push(row) }
}
const out = await runJobs(jobs, { workers: 2 })
const na = new Map<string, any>()
for (const l of readFileSync(fullFile!, "utf8").split("\n")) { const m = l.match(/^(\S+)\s+full\s+([\d.]+)G (na-load|na)\s+cs\s+(\d+)/); if (m) na.set(`${m[1]}/${m[2]}/${m[3]}`, Number(m[4])) }
for (let i = 0; i < out.length; i += pols.length) {
  const row = meta[i]; const [l, g, n, nl] = out.slice(i, i + pols.length).map((o) => o!.result.missRatio)
  const [bl, bg, bn, bnl] = out.slice(i, i + pols.length).map((o) => o!.result.byteMissRatio)
  const cs = (p: string) => row.results[p]?.coldStartSeconds
  const key = `${row.scenario}/${row.memoryBytes / 2 ** 30}`
  const full: [string, number][] = [["lru", cs("lru")], ["gdsf", cs("gdsf")], ["na", na.get(key + "/na")], ["na-load", na.get(key + "/na-load")]]
  const bestAll = Object.entries(row.results).filter(([p]) => p !== "meshkit-adaptive" && p !== "next-arrival").reduce((b: any, [p, v]: any) => v.coldStartSeconds < b[1] ? [p, v.coldStartSeconds] : b, ["", Infinity])
  const fb = full.reduce((b, x) => x[1] < b[1] ? x : b)
  console.log(`${key.padEnd(22)} ideal@NxC g/l ${(g! / l!).toFixed(3)} na/l ${(n! / l!).toFixed(3)} nal/l ${(nl! / l!).toFixed(3)} bytes: g/l ${(bg! / bl!).toFixed(3)} na/l ${(bn! / bl!).toFixed(3)} nal/l ${(bnl! / bl!).toFixed(3)} | full: ${full.map(([p, v]) => `${p} ${(v / fb[1]).toFixed(3)}`).join(" ")} | best other ${bestAll[0]} ${(bestAll[1] / fb[1]).toFixed(3)}`)
}
