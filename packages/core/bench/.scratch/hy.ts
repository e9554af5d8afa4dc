import { loadAzureTrace } from "../azure-trace.ts"
import { buildPolicy, makeRng, ModelCache } from "../../src/index.ts"
const t = loadAzureTrace("/work/shared/traces/azure-functions-2019-sample")
const cap = 64 * 1024 ** 3
const p = buildPolicy("eviction", "hybrid-histogram", { rng: makeRng(1), capacityBytes: cap })
const c = new ModelCache(cap, p)
let miss = 0, expiredN = 0, dueAt = Infinity
for (let k = 0; k < 200000; k++) {
  const now = t.time[k]!
  if (now >= dueAt) { expiredN += c.expire(now).length; dueAt = p.nextExpiry!() }
  const id = t.ids[t.model[k]!]!, size = t.sizes[t.model[k]!]!
  const e = c.get(id)
  if (e) { c.hit(e, now); continue }
  miss++
  const r = c.admit({ id, tenant: "t", size, loadCostMs: 1 }, now)
  if (r.ok) r.entry.loading = false
  dueAt = p.nextExpiry!()
  if (miss < 30) console.log(k, now, id, r.ok, c.count, dueAt, expiredN)
}
console.log(miss, expiredN)
