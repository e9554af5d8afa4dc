import { loadScenario, runScenario } from "../src/index.js"
const l = await loadScenario("scenarios/default.yaml", { sets: ["policies.eviction=[lru]"] })
for (let i = 0; i < 2; i++) {
  const r = await runScenario(l, { workers: 0, noSweep: true })
  console.log(r.runs[0]!.result.requestsPerSecond, r.runs[0]!.result.wallSeconds)
}
