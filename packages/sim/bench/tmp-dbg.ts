import { generatedTrace } from "../src/trace/index.js"
import { simulate } from "../src/engine/simulate.js"
import { defaultCluster } from "../src/engine/config.js"
const trace = generatedTrace({ models: 200, tenants: 5, rate: 200, durationMs: 600_000, sizeMedian: "512MiB" })
for (const inst of [1, 4]) {
  const r = await simulate(trace, { mode: "full", cluster: { ...defaultCluster, instances: inst, memoryBytes: 8 * 1024 ** 3, modelConcurrency: 100, exec: { kind: "constant", ms: 5 } }, eviction: "lru", placement: "modelmesh", routing: "least-in-flight", scaling: process.argv[2] ?? "none", seed: 1, sloMs: 100 })
  const x = r.result
  console.log(inst, x.requests, x.missRatio.toFixed(4), x.coldStarts, x.coldStartSeconds.toFixed(0), JSON.stringify(x.latencyUs), x.loads, x.evictions, x.failed, x.sloAttainment.toFixed(4))
}
