import { azureTrace, materialize } from "../src/trace/index.js"
import { simulate } from "../src/engine/simulate.js"
import { arrayTrace } from "../src/engine/array-trace.js"
import { defaultCluster } from "../src/engine/config.js"
const trace = azureTrace({ dir: "/work/shared/traces/azure-functions-2019-sample", minutes: 120 })
const m = await materialize(trace)
const t2 = arrayTrace("az", trace.models, m.timeMs, m.model, m.execMs)
const mode = (process.argv[2] ?? "ideal") as "ideal" | "full"
const gib = Number(process.argv[3] ?? 16)
for (let k = 0; k < Number(process.argv[4] ?? 3); k++) {
  const r = await simulate(t2, { mode, cluster: { ...defaultCluster, instances: 8, memoryBytes: gib * 1024 ** 3, modelConcurrency: 1000, exec: {kind: "constant", ms: 5} }, eviction: "lru", placement: "modelmesh", routing: "least-in-flight", scaling: "modelmesh", seed: 1, sloMs: 100 })
  const x = r.result
  console.log(mode, x.missRatio.toFixed(4), x.coldStarts, x.coldStartSeconds.toFixed(0), JSON.stringify(x.latencyUs), (x.requestsPerSecond / 1e6).toFixed(2) + "M/s", x.loads, x.evictions, x.sloAttainment.toFixed(4))
}
