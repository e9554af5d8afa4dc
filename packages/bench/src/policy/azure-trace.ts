import { readFileSync } from "node:fs"
import { join } from "node:path"

/** The Azure Functions 2019 sample expanded into requests, exactly as research.md specifies. */
export interface AzureTrace {
  readonly ids: readonly string[]
  /** bytes per model index */
  readonly sizes: Float64Array
  /** per request, sorted by time (stable: ties keep file-row order) */
  readonly time: Float64Array
  readonly model: Int32Array
}

/**
 * Expand the per-minute counts of the first `minutes` minutes: c requests in minute m of row r
 * at m·60000 + floor(i·60000/c); model id = first 16 characters of HashFunction; size = the
 * app's AverageAllocatedMb × 1 MiB. A dev tool for tuning, not product code.
 */
export const loadAzureTrace = (dir: string, minutes = 120): AzureTrace => {
  const memByApp = new Map<string, number>()
  const memLines = readFileSync(join(dir, "1000_mem.csv"), "utf8").split("\n")
  const memHead = memLines[0]!.split(",")
  const appCol = memHead.indexOf("HashApp")
  const avgCol = memHead.indexOf("AverageAllocatedMb")
  for (const line of memLines.slice(1)) {
    if (line.trim() === "") continue
    const f = line.split(",")
    memByApp.set(f[appCol]!, Number(f[avgCol]))
  }
  const invLines = readFileSync(join(dir, "1000_inv.csv"), "utf8").split("\n")
  const ids: string[] = []
  const index = new Map<string, number>()
  const sizes: number[] = []
  const t: number[] = []
  const m: number[] = []
  for (const line of invLines.slice(1)) {
    if (line.trim() === "") continue
    const f = line.split(",")
    const mb = memByApp.get(f[1]!)
    if (mb === undefined) throw new Error(`no memory row for app ${f[1]}`)
    let model = -1
    for (let minute = 0; minute < minutes; minute++) {
      const c = Number(f[3 + minute])
      if (!(c > 0)) continue
      if (model < 0) {
        const id = f[0]!.slice(0, 16)
        model = index.get(id) ?? -1
        if (model < 0) {
          model = ids.length
          index.set(id, model)
          ids.push(id)
          sizes.push(mb * 1048576)
        }
      }
      for (let i = 0; i < c; i++) {
        t.push(minute * 60000 + Math.floor((i * 60000) / c))
        m.push(model)
      }
    }
  }
  const order = Array.from(t.keys()).sort((a, b) => t[a]! - t[b]! || a - b)
  const time = new Float64Array(order.length)
  const model = new Int32Array(order.length)
  for (let k = 0; k < order.length; k++) {
    time[k] = t[order[k]!]!
    model[k] = m[order[k]!]!
  }
  return { ids, sizes: Float64Array.from(sizes), time, model }
}
