import { makeStream, makeReplay, type Lookup } from "../eviction-bench.ts"
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
const alpha = Number(process.env.A ?? 0.9)
const s = makeStream({ models: 12000, residents: Number(process.env.R ?? 10000), alpha, length: 1 << 20, seed: 1 })
for (const p of (process.env.P ?? "lru").split(",")) {
  const r = makeReplay(p, s, (process.env.L ?? "index") as Lookup)
  r.step(1 << 20)
  r.resetCounts()
  const out = []
  for (let rep = 0; rep < Number(process.env.N ?? 5); rep++) {
    const t = cpu()
    r.step(1 << 20)
    out.push(((1 << 20) / (cpu() - t) / 1000).toFixed(2))
  }
  console.log(p, "alpha", alpha, "hit", r.hitRatio().toFixed(3), out.join(" "), "M/s")
}
