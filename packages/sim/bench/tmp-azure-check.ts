import { readFileSync } from "node:fs"
const dir = "/work/shared/traces/azure-functions-2019-sample/"
const inv = readFileSync(dir + "1000_inv.csv", "utf8").trim().split("\n").slice(1).map((l) => l.split(","))
const mem = new Map(readFileSync(dir + "1000_mem.csv", "utf8").trim().split("\n").slice(1).map((l) => l.split(",")).map((f) => [f[0], Number(f[3])]))
type R = { t: number; row: number; i: number; id: string; size: number }
const reqs: R[] = []
inv.forEach((f, row) => {
  const id = f[0]!.slice(0, 16); const size = mem.get(f[1]!)! * 1048576
  for (let m = 0; m < 120; m++) { const c = Number(f[3 + m]); for (let i = 0; i < c; i++) reqs.push({ t: m * 60000 + Math.floor((i * 60000) / c), row, i, id, size }) }
})
console.log(reqs.length)
const run = (order: R[], cap: number, fifo: boolean) => {
  const map = new Map<string, number>(); let used = 0; let miss = 0
  for (const r of order) {
    if (map.has(r.id)) { if (!fifo) { map.delete(r.id); map.set(r.id, r.size) } continue }
    miss++
    if (r.size > cap) continue
    while (used + r.size > cap) { const [k, s] = map.entries().next().value!; map.delete(k); used -= s }
    map.set(r.id, r.size); used += r.size
  }
  return (miss / order.length).toFixed(5)
}
const orders: Record<string, (a: R, b: R) => number> = {
  stable: (a, b) => a.t - b.t || a.row - b.row,
  revrow: (a, b) => a.t - b.t || b.row - a.row,
  byid: (a, b) => a.t - b.t || (a.id < b.id ? -1 : 1),
  bysize: (a, b) => a.t - b.t || a.size - b.size || a.row - b.row,
}
for (const [name, cmp] of Object.entries(orders)) {
  const o = [...reqs].sort(cmp)
  console.log(name, [16, 64].map((g) => [run(o, g * 2 ** 30, false), run(o, g * 2 ** 30, true)].join("/")).join("  "))
}
const o = [...reqs].sort(orders.stable!)
const big = new Set(o.filter((r) => r.size >= 2 ** 31).map((r) => r.id)); console.log("models >= 2GiB", big.size)
const variants: Record<string, (s: number) => number> = {
  int32wrap: (s) => (s >= 2 ** 31 ? s - 2 ** 32 : s),
  mod31: (s) => s % 2 ** 31,
  cap31: (s) => Math.min(s, 2 ** 31 - 1),
  mbFloorMiB: (s) => s,
}
for (const [name, f] of Object.entries(variants)) {
  const o2 = o.map((r) => ({ ...r, size: f(r.size) }))
  console.log(name, [16, 64].map((g) => [run(o2, g * 2 ** 30, false), run(o2, g * 2 ** 30, true)].join("/")).join("  "))
}
for (let g = 63.5; g <= 66; g += 0.1) console.log("cap", g.toFixed(2), run(o, g * 2 ** 30, false), run(o, g * 2 ** 30, true))
