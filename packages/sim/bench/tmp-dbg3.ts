import { arrayTrace, generatedTrace, materialize, defaultCluster, simulate } from "../src/index.js"
const GiB = 1024 ** 3
for (const [models, zipf, gib, arrival] of [[2000, 1.0, 16, "gamma"], [2000, 1.0, 16, "onoff"], [4000, 1.0, 32, "poisson"]] as const) {
  const t = generatedTrace({ seed: 1, models, tenants: 100, zipf, rate: 2000, arrival, cv: 2, sizeMedian: 64 * 1024 ** 2, sizeSigma: 0.8, requests: 2000000 })
  const m = await materialize(t)
  const tr = arrayTrace("x", t.models, m.timeMs, m.model, m.execMs)
  for (let i = 0; i < 2; i++) {
    const c0 = process.cpuUsage()
    const r = await simulate(tr, { mode: "full", cluster: { ...defaultCluster, instances: 8, memoryBytes: gib * GiB, maxConcurrentLoads: 4, loadFixedMs: 100, loadBytesPerSecond: 2 * GiB, unloadMs: 10, exec: { kind: "lognormal", medianMs: 5, sigma: 0.5 }, modelConcurrency: 16, maxCopies: 4 }, eviction: "lru", placement: "modelmesh", routing: "least-in-flight", scaling: "modelmesh", seed: 1, sloMs: 100 })
    const c = process.cpuUsage(c0)
    const x = r.result
    console.log(models, zipf, gib, arrival, "miss", x.missRatio.toFixed(4), "loads/s", (x.loads / (m.timeMs[m.timeMs.length - 1]! / 1000)).toFixed(0), "cold", x.coldStarts, "p99", x.latencyUs.p99, "cpu M/s", (x.requests / ((c.user + c.system) / 1e6) / 1e6).toFixed(2))
  }
}
