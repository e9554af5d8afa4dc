import { makeStream } from "../eviction-bench.ts"
const s = makeStream({ models: 12000, residents: 10000, alpha: 0.9, length: 1 << 20, seed: 1 })
const m = new Map(s.ids.slice(0, 10000).map((id) => [id, { id }]))
const arr = s.ids.map((id, i) => (i < 10000 ? { id } : undefined))
for (let rep = 0; rep < 4; rep++) {
  let t = performance.now(), c = 0
  for (let r = 0; r < 8; r++) for (let k = 0; k < s.model.length; k++) if (m.get(s.ids[s.model[k]!]!) !== undefined) c++
  const a = ((8 << 20) / (performance.now() - t) / 1000).toFixed(1)
  t = performance.now()
  for (let r = 0; r < 8; r++) for (let k = 0; k < s.model.length; k++) if (arr[s.model[k]!] !== undefined) c++
  console.log("map.get", a, "array", ((8 << 20) / (performance.now() - t) / 1000).toFixed(1), "M/s", c)
}
