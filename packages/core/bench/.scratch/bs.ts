import { makeRng } from "../../src/index.ts"
import { cacheOf, hit } from "../../test/eviction-harness.ts"
const c = cacheOf("belady-size", 300)
let now = 0
const rng = makeRng(3)
const sizes = Array.from({ length: 400 }, () => 1 + rng.int(4))
for (let k = 0; k < 2000; k++) {
  now += rng.int(50)
  const m = rng.int(400), id = `m${m}`
  if (c.has(id)) { hit(c, id, now, now + 1 + rng.int(2000)); continue }
  const r = c.admit({ id, tenant: "t", size: sizes[m]!, loadCostMs: 1, nextUse: now + 1 + rng.int(2000) }, now)
  if (r.ok) r.entry.loading = false
}
console.log(c.count, (globalThis as any).__rb, (globalThis as any).__v)
