import { azureTrace, materialize } from "../src/trace/index.js"
import { simulate } from "../src/engine/simulate.js"
import { arrayTrace } from "../src/engine/array-trace.js"
import { defaultCluster } from "../src/engine/config.js"
const trace = azureTrace({ dir: "/work/shared/traces/azure-functions-2019-sample", minutes: 120 })
const m = await materialize(trace)
const t2 = arrayTrace("az", trace.models, m.timeMs, m.model, m.execMs)
for (const mode of ["ideal", "ideal", "full", "full"] as const) for (const p of ["lru", "gdsf"]) {
  const r = await simulate(t2, { mode, cluster: { ...defaultCluster, instances: 8, memoryBytes: 8 * 1024 ** 3 }, eviction: p, placement: "modelmesh", routing: "least-in-flight", scaling: "modelmesh", seed: 1, sloMs: 100 })
  const x = r.result
  console.log(mode, p, x.missRatio.toFixed(4), x.coldStarts, x.coldStartSeconds.toFixed(0), x.latencyUs, (x.requestsPerSecond / 1e6).toFixed(2) + "M/s", x.loads, x.evictions, x.failed, (x.peakMemoryBytes/2**30).toFixed(1), (x.meanMemoryBytes/2**30).toFixed(1), x.sloAttainment.toFixed(4))
}
