import * as sim from "@meshkit/sim"
const GIB = 1024 ** 3
const dir = "/work/shared/traces/azure-functions-2019-sample"
const az = sim.azureTrace({ dir, minutes: 120, exec: "none" })
const am = await sim.materialize(az)
const azTrace = sim.arrayTrace("azure", az.models, am.timeMs, am.model, am.execMs)
const base = { placement: "modelmesh", routing: "least-in-flight", scaling: "modelmesh", seed: 1, sloMs: 1000 } as const
const azCluster = {
  ...sim.defaultCluster, instances: 8, memoryBytes: 8 * GIB, maxConcurrentLoads: 4, loadFixedMs: 100, loadBytesPerSecond: 4 * GIB,
  unloadMs: 20, exec: { kind: "lognormal", medianMs: 20, sigma: 0.8 } as const, modelConcurrency: 16, maxCopies: 4
}
const runs = Number(process.argv[2] ?? 3)
for (let i = 0; i < runs; i++) {
  const t0 = process.cpuUsage()
  const r = await sim.simulate(azTrace, { ...base, mode: "full", eviction: (process.argv[3] ?? "lru") as any, cluster: azCluster })
  const u = process.cpuUsage(t0)
  const ms = (u.user + u.system) / 1000
  console.log(`run ${i}: ${(r.result.requests / ms / 1000).toFixed(3)} M req/s cpu ${ms.toFixed(0)} ms  cold=${r.result.coldStarts} p99=${r.result.latency?.p99Us ?? ""} miss=${r.result.missRatio}`)
}
