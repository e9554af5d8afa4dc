import { loadAzureTrace } from "/work/main/packages/core/bench/azure-trace.ts"
import { ModelCache } from "/work/main/packages/core/src/index.ts"
import { s3fifo } from "./s3v.ts"
const t = loadAzureTrace("/work/shared/traces/azure-functions-2019-sample")
const sizes = t.sizes.map((s) => s % 2 ** 32)
for (const promoteAt of [1, 2]) for (const g of [16, 64]) {
  const cap = g * 1024 ** 3
  const c = new ModelCache(cap, s3fifo({ promoteAt, smallFraction: 0.1, ghostFraction: 0.9 }, cap))
  let miss = 0
  for (let k = 0; k < t.time.length; k++) {
    const id = t.ids[t.model[k]!]!, size = sizes[t.model[k]!]!
    const e = c.get(id)
    if (e) { c.hit(e, k); continue }
    miss++
    if (size >= 0.1 * cap) continue
    const r = c.admit({ id, tenant: "t", size, loadCostMs: 1 }, k)
    if (r.ok) r.entry.loading = false
  }
  console.log(process.env.RESET, process.env.RULE, promoteAt, g, (miss / t.time.length).toFixed(4))
}
