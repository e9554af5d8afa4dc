import { makeStream, makeReplay, type Lookup } from "../eviction-bench.ts"
const s = makeStream({ models: 12000, residents: 10000, alpha: 0.9, length: 1 << 20, seed: 1 })
const policies = (process.env.P ?? "lru").split(",")
for (const p of policies) {
  const r = makeReplay(p, s, (process.env.L ?? "index") as Lookup)
  r.step(1 << 20)
  const out = []
  for (let rep = 0; rep < 3; rep++) {
    const t = performance.now()
    r.step(1 << 20)
    out.push(((1 << 20) / (performance.now() - t) / 1000).toFixed(2))
  }
  console.log(p, out.join(" "), "M/s")
}
