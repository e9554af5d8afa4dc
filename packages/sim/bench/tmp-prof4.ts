import { loadScenario, materialize, openTrace, arrayTrace, simulate } from "../src/index.js"
const l = await loadScenario("scenarios/default.yaml", { sets: ["policies.eviction=[lru]"] })
const tr = openTrace(l.source)
const m = await materialize(tr)
const at = arrayTrace("x", tr.models, m.timeMs, m.model, m.execMs)
const s = l.scenario
const mode = process.argv[2] as "full" | "ideal"
const mem = process.argv[3] ? Number(process.argv[3]) * 2 ** 30 : l.cluster.memoryBytes
for (let i = 0; i < Number(process.env.ITER ?? 6); i++) {
  const c0 = process.cpuUsage()
  const r = await simulate(at, { mode, cluster: { ...l.cluster, memoryBytes: mem }, eviction: "lru", placement: s.policies.placement, routing: s.policies.routing, scaling: process.argv[4] ?? "none", seed: 1, sloMs: 250 })
  const c = process.cpuUsage(c0)
  const cpu = (c.user + c.system) / 1e6
  console.log(mode, (r.result.requestsPerSecond / 1e6).toFixed(2), "M/s wall", (r.result.requests / cpu / 1e6).toFixed(2), "M/s cpu", r.result.missRatio.toFixed(4), r.result.loads)
}
const { ClusterEngine } = await import("../src/engine/cluster.js")
console.log((ClusterEngine as any).placeCalls)
