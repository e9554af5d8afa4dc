import { loadScenario, runScenario } from "../src/index.js"
const sets = process.argv.slice(2)
const l = await loadScenario("scenarios/azure-functions.yaml", { sets: ["trace.azure.dir=/work/shared/traces/azure-functions-2019-sample", ...sets] })
const t0 = performance.now()
const r = await runScenario(l, { workers: 0, noSweep: true })
for (const x of r.runs.map((o) => o.result)) console.log(x.policy.padEnd(18), x.requests, x.missRatio.toFixed(4), "loads", x.loads, "cold", x.coldStarts, "coldS", x.coldStartSeconds.toFixed(0), "p50", (x.latencyUs.p50/1000).toFixed(0), "p99", (x.latencyUs.p99/1000).toFixed(0), "ms slo", x.sloAttainment.toFixed(3), "mean GiB", (x.meanMemoryBytes/2**30).toFixed(1), "failed", x.failed, (x.wallSeconds).toFixed(2)+"s")
console.log(((performance.now() - t0) / 1000).toFixed(1), "s")
