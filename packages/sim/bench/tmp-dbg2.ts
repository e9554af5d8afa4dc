import { ClusterEngine, arrayTrace, generatedTrace, materialize, defaultCluster } from "../src/index.js"
const GiB = 1024 ** 3
const t = generatedTrace({ seed: 1, models: 10_000, tenants: 100, zipf: 1, rate: 2000, arrival: "gamma", cv: 4, sizeMedian: 64 * 1024 ** 2, sizeSigma: 1, requests: 300000 })
const m = await materialize(t)
const tr = arrayTrace("x", t.models, m.timeMs, m.model, m.execMs)
const eng = new ClusterEngine(tr, { mode: "full", cluster: { ...defaultCluster, instances: 8, memoryBytes: 32 * GiB, maxConcurrentLoads: 4, loadFixedMs: 100, loadBytesPerSecond: 2 * GiB, unloadMs: 10, exec: { kind: "lognormal", medianMs: 5, sigma: 0.5 }, modelConcurrency: 16, maxCopies: 4 }, eviction: "lru", placement: "modelmesh", routing: "least-in-flight", scaling: "modelmesh", seed: 1, sloMs: 100 })
let calls = 0, checks = 0, loading = 0, busy = 0
for (const inst of (eng as any).instances) {
  const p = inst.policy
  const orig = p.chooseVictims.bind(p)
  p.chooseVictims = (need: number, now: number, ev: (e: any) => boolean) => { calls++; return orig(need, now, (e: any) => { checks++; if (e.loading) loading++; else if (e.inFlight > 0) busy++; return ev(e) }) }
}
const r = await eng.run()
console.log({ calls, checks, perCall: checks / calls, loading, busy, miss: r.result.missRatio, evictions: r.result.evictions })
