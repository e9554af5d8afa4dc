import { arrayTrace, azureTrace, materialize, defaultCluster, simulate } from "../src/index.js"
const t = azureTrace({ dir: "/work/shared/traces/azure-functions-2019-sample", minutes: 120, exec: "none" })
const m = await materialize(t)
const tr = arrayTrace("x", t.models, m.timeMs, m.model, new Float64Array(m.model.length))
for (const bw of [Infinity, 1e15, 1e12]) for (const p of ["s3fifo", "sieve"]) {
  const r = await simulate(tr, { mode: "full", cluster: { ...defaultCluster, instances: 1, memoryBytes: 64 * 2 ** 30, maxConcurrentLoads: 1e6, loadFixedMs: 0, loadBytesPerSecond: bw, unloadMs: 0, exec: { kind: "constant", ms: 0 } }, eviction: p, placement: "modelmesh", routing: "least-in-flight", scaling: "none", seed: 1, sloMs: 100 })
  console.log(bw, p, r.result.missRatio.toFixed(4))
}
