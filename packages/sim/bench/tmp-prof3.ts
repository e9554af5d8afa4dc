import { loadScenario, materialize, openTrace, arrayTrace, simulate } from "../src/index.js"
const l = await loadScenario("scenarios/default.yaml", { sets: ["policies.eviction=[lru]"] })
const tr = openTrace(l.source)
let t0 = performance.now()
const m = await materialize(tr)
console.log("generate", m.timeMs.length, ((performance.now() - t0) / 1000).toFixed(2), "s")
const at = arrayTrace("x", tr.models, m.timeMs, m.model, m.execMs)
const s = l.scenario
for (const scaling of ["modelmesh", "none"]) for (let i = 0; i < 3; i++) {
  const r = await simulate(at, { mode: "full", cluster: l.cluster, eviction: "lru", placement: s.policies.placement, routing: s.policies.routing, scaling, seed: 1, sloMs: 250 })
  console.log(scaling, (r.result.requestsPerSecond / 1e6).toFixed(2), "M/s", r.result.wallSeconds.toFixed(2))
}
for (let i = 0; i < 3; i++) {
  const r = await simulate(at, { mode: "ideal", cluster: { ...l.cluster, memoryBytes: 32 * 2 ** 30 }, eviction: "lru", placement: "", routing: "", scaling: "none", seed: 1, sloMs: 250 })
  console.log("ideal", (r.result.requestsPerSecond / 1e6).toFixed(2), "M/s", r.result.missRatio)
}
