import { arrayTrace, generatedTrace, materialize, defaultCluster, simulate } from "../src/index.js"
const GiB = 1024 ** 3
const t = generatedTrace({ seed: 1, models: 5000, tenants: 100, zipf: 1.1, rate: 2000, arrival: "gamma", cv: 4, sizeMedian: 64 * 1024 ** 2, sizeSigma: 1, requests: 1000000 })
const m = await materialize(t)
const tr = arrayTrace("x", t.models, m.timeMs, m.model, m.execMs)
for (const placement of ["modelmesh", "least-loaded", "power-of-two-choices", "most-free-space"]) { const scaling = "none"
  const G = globalThis as any; G.__ls = G.__wait = G.__bg = G.__blocked = 0; G.__per = undefined
  const r = await simulate(tr, { mode: "full", cluster: { ...defaultCluster, instances: 8, memoryBytes: 16 * GiB, maxConcurrentLoads: 4, loadFixedMs: 100, loadBytesPerSecond: 2 * GiB, unloadMs: 10, exec: { kind: "lognormal", medianMs: 5, sigma: 0.5 }, modelConcurrency: 16, maxCopies: 4 }, eviction: "lru", placement, routing: "least-in-flight", scaling, seed: 1, sloMs: 100 })
  const x = r.result
  console.log(placement, JSON.stringify(G.__per), "miss", x.missRatio.toFixed(4), "loads", x.loads, "cold", x.coldStarts, "coldS", x.coldStartSeconds.toFixed(0), "p50", x.latencyUs.p50, "p99", x.latencyUs.p99, "starts", G.__ls, "avg queue wait ms", (G.__wait / G.__ls).toFixed(1), "bg", G.__bg, "blocked", G.__blocked, "dur s", m.timeMs[m.timeMs.length-1]!/1000)
}
