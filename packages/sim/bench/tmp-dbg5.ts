import { arrayTrace, generatedTrace, materialize, defaultCluster, simulate } from "../src/index.js"
const GiB = 1024 ** 3
const t = generatedTrace({ seed: 1, models: 2000, tenants: 100, zipf: 1, rate: 2000, arrival: "onoff", sizeMedian: 64 * 1024 ** 2, sizeSigma: 0.8, requests: 2000000 })
const m = await materialize(t)
const tr = arrayTrace("x", t.models, m.timeMs, m.model, m.execMs)
for (let i = 0; i < 5; i++) {
  const c0 = process.cpuUsage()
  const r = await simulate(tr, { mode: "full", cluster: { ...defaultCluster, instances: 8, memoryBytes: 16 * GiB, maxConcurrentLoads: 4, loadFixedMs: 100, loadBytesPerSecond: 2 * GiB, unloadMs: 10, exec: { kind: "lognormal", medianMs: 5, sigma: 0.5 }, modelConcurrency: 16, maxCopies: 4 }, eviction: "lru", placement: "modelmesh", routing: "least-in-flight", scaling: process.env.SCALING ?? "modelmesh", seed: 1, sloMs: 100 })
  const c = process.cpuUsage(c0)
  console.log("miss", r.result.missRatio.toFixed(4), "cpu M/s", (r.result.requests / ((c.user + c.system) / 1e6) / 1e6).toFixed(2), "wall", (r.result.requestsPerSecond / 1e6).toFixed(2))
}
