/**
 * Quick tuning tool (not a test): replay the Azure Functions sample (first 120 min) through
 * ModelCache in ideal mode (a miss admits and loads instantly) and print each eviction policy's
 * miss ratio at 16 and 64 GiB next to research.md's reference table.
 *
 *   npx tsx packages/bench/src/policy/azure-ideal-check.ts [--trace DIR] [--policies 'a;b:{"opt":1}'] [--cost uniform|size] [--vtime] [--wrap32] [--gib 16,64]
 *
 * --cost size: loadCostMs = 100 ms + 1 ms per MiB (else 1 for every model: each miss costs the same).
 * --vtime: time = request index instead of ms (what the reference's Belady-Size measures distance in).
 */
import { parseArgs } from "node:util"
import { fileURLToPath } from "node:url"
import { dirname, resolve } from "node:path"
import { buildPolicy, makeRng, ModelCache, policiesOf, type PolicyChoice } from "@meshkit/core"
import { loadAzureTrace, type AzureTrace } from "./azure-trace.js"

const GiB = 1024 ** 3
const reference: Record<string, readonly number[]> = {
  lru: [0.3399, 0.1322],
  fifo: [0.4276, 0.1576],
  lfu: [0.2332, 0.1004],
  gdsf: [0.2381, 0.0901],
  sieve: [0.2392, 0.0909],
  s3fifo: [0.4698, 0.0826],
  belady: [0.21, 0.0703],
  "belady-size": [0.1953, 0.0589]
}

export interface IdealResult {
  readonly missRatio: number
  readonly byteMissRatio: number
  /** mean bytes resident over requests */
  readonly meanUsed: number
  /** sum of loadCostMs over misses (with --cost size: the load time spent, ms) */
  readonly missCost: number
}

export const replayIdeal = (
  trace: AzureTrace,
  choice: PolicyChoice | string,
  capacity: number,
  opts: { readonly costOf: (size: number) => number; readonly vtime: boolean }
): IdealResult => {
  const policy = buildPolicy("eviction", choice, { rng: makeRng(1), capacityBytes: capacity })
  const cache = new ModelCache(capacity, policy)
  const n = trace.time.length
  let next: Float64Array | undefined
  if (policy.offline) {
    next = new Float64Array(n)
    const seen = new Float64Array(trace.ids.length).fill(Infinity)
    for (let k = n - 1; k >= 0; k--) {
      const m = trace.model[k]!
      next[k] = seen[m]!
      seen[m] = opts.vtime ? k : trace.time[k]!
    }
  }
  const keepAlive = policy.expired !== undefined
  let dueAt = Infinity
  let misses = 0
  let missBytes = 0
  let totalBytes = 0
  let usedSum = 0
  let missCost = 0
  for (let k = 0; k < n; k++) {
    const now = opts.vtime ? k : trace.time[k]!
    if (keepAlive && now >= dueAt) {
      cache.expire(now)
      dueAt = policy.nextExpiry!()
    }
    const m = trace.model[k]!
    const id = trace.ids[m]!
    const size = trace.sizes[m]!
    totalBytes += size
    const e = cache.get(id)
    if (e !== undefined) {
      if (next) e.nextUse = next[k]!
      cache.hit(e, now)
    } else {
      misses++
      missBytes += size
      missCost += opts.costOf(size)
      const r = cache.admit({ id, tenant: "t", size, loadCostMs: opts.costOf(size), nextUse: next ? next[k]! : Infinity }, now)
      if (r.ok) r.entry.loading = false
      if (keepAlive) dueAt = policy.nextExpiry!()
    }
    usedSum += cache.used
  }
  return { missRatio: misses / n, byteMissRatio: missBytes / totalBytes, meanUsed: usedSum / n, missCost }
}

const main = (): void => {
  const here = dirname(fileURLToPath(import.meta.url))
  const { values } = parseArgs({
    options: {
      trace: { type: "string", default: resolve(here, "../../../../../shared/traces/azure-functions-2019-sample") },
      policies: { type: "string" },
      cost: { type: "string", default: "uniform" },
      vtime: { type: "boolean", default: false },
      wrap32: { type: "boolean", default: false },
      gib: { type: "string", default: "16,64" }
    }
  })
  const costOf = values.cost === "size" ? (s: number) => 100 + s / 1048576 : () => 1
  const t0 = performance.now()
  const loaded = loadAzureTrace(values.trace!)
  // The reference simulator stores object sizes as uint32: its one model over 4 GiB (4361 MiB)
  // wraps to 265 MiB there. --wrap32 reproduces that to compare digit for digit.
  const trace = values.wrap32 ? { ...loaded, sizes: loaded.sizes.map((s) => s % 2 ** 32) } : loaded
  const gibs = values.gib!.split(",").map(Number)
  console.log(
    `trace: ${trace.time.length} requests, ${trace.ids.length} models, ${(trace.sizes.reduce((a, b) => a + b, 0) / 1e9).toFixed(1)} GB distinct ` +
      `(loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s); cost=${values.cost}${values.vtime ? ", vtime" : ""}${values.wrap32 ? ", wrap32" : ""}`
  )
  const choices: (PolicyChoice | string)[] = values.policies
    ? values.policies.split(";").map((s) => {
        const colon = s.indexOf(":")
        return colon < 0 ? s : { name: s.slice(0, colon), options: JSON.parse(s.slice(colon + 1)) }
      })
    : policiesOf("eviction").map((d) => d.name)
  const refCol = (g: number) => (g === 16 ? 0 : g === 64 ? 1 : -1)
  console.log(
    `| policy | ${gibs.map((g) => `${g} GiB | ref`).join(" | ")} | byte miss ${gibs.join("/")} | load h ${gibs.join("/")} | mean used GiB ${gibs.join("/")} | s |`
  )
  console.log(`|---|${gibs.map(() => "---|---|").join("")}---|---|---|---|`)
  const f = (x: number | undefined) => (x === undefined ? "–" : x.toFixed(4))
  for (const c of choices) {
    const name = typeof c === "string" ? c : `${c.name} ${JSON.stringify(c.options)}`
    const t = performance.now()
    const rs = gibs.map((g) => replayIdeal(trace, c, g * GiB, { costOf, vtime: values.vtime! }))
    const ref = reference[typeof c === "string" ? c : c.name]
    console.log(
      `| ${name} | ${rs.map((r, i) => `${f(r.missRatio)} | ${f(ref?.[refCol(gibs[i]!)])}`).join(" | ")} | ` +
        `${rs.map((r) => f(r.byteMissRatio)).join(" / ")} | ${rs.map((r) => (r.missCost / 3.6e6).toFixed(1)).join(" / ")} | ` +
        `${rs.map((r) => (r.meanUsed / GiB).toFixed(1)).join(" / ")} | ` +
        `${((performance.now() - t) / 1000).toFixed(1)} |`
    )
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main()
