import { messageOf } from "../harness/message.js"
/**
 * `meshkit bench-core` (= `npm run bench:core`): requests per second through ModelCache for each
 * eviction policy, with ~10,000 resident models. The request stream is pre-generated (seeded):
 * Zipf(alpha) popularity over 12,000 models in random order, sizes uniform in 50–150 MiB, and a
 * capacity of 10,000 × 100 MiB, so about 10,000 models fit and most requests hit. One timed
 * iteration replays a chunk of the stream (hits call cache.hit, misses admit and finish loading),
 * continuing where the previous one stopped, after a full pass to fill the cache.
 * Keep-alive expiry is not exercised (requests only); offline policies get nextUse from the stream.
 * The loop itself does no work per request beyond the cache's: ids are built (and interned) with
 * the stream, one request object is reused for every admission, victims are mapped back to
 * model numbers without a lookup. Misses are not filtered out: the mix is what the stream gives
 * (about 3–5 % misses at the default settings, shown as the hit ratio).
 */
import { spawnSync } from "node:child_process"
import { cpus } from "node:os"
import { resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { Bench } from "tinybench"
import { buildPolicy, makeRng, ModelCache, policiesOf, type Resident } from "@meshkit/core"

const MiB = 1048576

const ID_PREFIX = "model-"
const idOf = (m: number): string => `${ID_PREFIX}${String(m).padStart(5, "0")}`
/** idOf's inverse, for the index mode's bookkeeping: cheaper than the Map lookup it replaces, which cost as much as the cache's own */
const modelNumber = (id: string): number => {
  let m = 0
  for (let i = ID_PREFIX.length; i < id.length; i++) m = 10 * m + id.charCodeAt(i) - 48
  return m
}

export interface StreamSpec {
  readonly models: number
  readonly residents: number
  readonly alpha: number
  readonly length: number
  readonly seed: number
}

export interface Stream {
  readonly ids: readonly string[]
  readonly sizes: Float64Array
  readonly model: Int32Array
  /** requests until the same model is requested again, the stream being replayed cyclically */
  readonly nextIn: Float64Array
  readonly capacity: number
}

export const makeStream = (spec: StreamSpec): Stream => {
  const rng = makeRng(spec.seed)
  // Interned (as property keys are), like ids parsed once and kept by a server's registry: a
  // Map lookup then hashes and compares a ready string instead of a freshly built one.
  const ids = Object.keys(Object.fromEntries(Array.from({ length: spec.models }, (_, i) => [idOf(i), i])))
  const sizes = Float64Array.from({ length: spec.models }, () => Math.round((50 + 100 * rng.next()) * MiB))
  // popularity rank → model, shuffled so popularity is unrelated to id or size
  const byRank = Int32Array.from({ length: spec.models }, (_, i) => i)
  for (let i = byRank.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const t = byRank[i]!
    byRank[i] = byRank[j]!
    byRank[j] = t
  }
  const cdf = new Float64Array(spec.models)
  let acc = 0
  for (let r = 0; r < spec.models; r++) cdf[r] = acc += 1 / Math.pow(r + 1, spec.alpha)
  const model = new Int32Array(spec.length)
  for (let k = 0; k < spec.length; k++) {
    const u = rng.next() * acc
    let lo = 0
    let hi = spec.models - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cdf[mid]! < u) lo = mid + 1
      else hi = mid
    }
    model[k] = byRank[lo]!
  }
  const nextIn = new Float64Array(spec.length)
  const last = new Float64Array(spec.models).fill(-1)
  for (let pass = 0; pass < 2; pass++) {
    for (let k = spec.length - 1; k >= 0; k--) {
      const m = model[k]!
      const seenAt = last[m]!
      if (pass === 1) nextIn[k] = seenAt < 0 ? Infinity : seenAt > k ? seenAt - k : seenAt + spec.length - k
      last[m] = k
    }
  }
  return { ids, sizes, model, nextIn, capacity: spec.residents * 100 * MiB }
}

/**
 * How a request finds its resident: "id" = ModelCache.get(id) (a Map lookup by string, what the
 * server does), "index" = an array by model number kept in step with admissions and evictions
 * (what a simulator can do), which isolates the policy's own cost from the Map lookup.
 */
export type Lookup = "id" | "index"

/** One policy's cache replaying the stream; `step(n)` serves the next n requests. */
export const makeReplay = (policy: string, s: Stream, lookup: Lookup = "id") => {
  const built = buildPolicy("eviction", policy, { rng: makeRng(1), capacityBytes: s.capacity })
  const cache = new ModelCache(s.capacity, built)
  const offline = built.offline === true
  const { ids, sizes, model, nextIn } = s
  const len = model.length
  const byIndex: (Resident | undefined)[] = new Array(ids.length).fill(undefined)
  let k = 0
  let now = 0
  let hits = 0
  let requests = 0
  // one request object for every admission, as the simulator does (the cache does not keep it)
  const req = { id: "", tenant: "t", size: 0, loadCostMs: 0, nextUse: 0 }
  const miss = (m: number): void => {
    const size = sizes[m]!
    req.id = ids[m]!
    req.size = size
    req.loadCostMs = size / MiB
    req.nextUse = now + nextIn[k]!
    const r = cache.admit(req, now)
    if (!r.ok) return
    r.entry.loading = false
    if (lookup === "index") {
      byIndex[m] = r.entry
      for (const v of r.evicted) byIndex[modelNumber(v.id)] = undefined
    }
  }
  const step = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const m = model[k]!
      const e = lookup === "id" ? cache.get(ids[m]!) : byIndex[m]
      if (e !== undefined) {
        if (offline) e.nextUse = now + nextIn[k]!
        cache.hit(e, now)
        hits++
      } else miss(m)
      requests++
      now++
      if (++k === len) k = 0
    }
  }
  return {
    cache,
    step,
    resetCounts: () => {
      hits = requests = 0
    },
    hitRatio: () => (requests === 0 ? 0 : hits / requests)
  }
}

export interface Measure {
  readonly mReqPerSec: number
  /** relative margin of error of the per-chunk time, % */
  readonly rmePercent: number
  readonly samples: number
}

export interface BenchRow {
  readonly policy: string
  /** through ModelCache.get(id), the full request path */
  readonly byId: Measure
  /** residents found by model number: the policy and cache without the Map lookup */
  readonly byIndex: Measure
  readonly hitRatio: number
  readonly residents: number
}

/**
 * "cpu": this process's CPU time (user + system), so time spent descheduled on a shared machine
 * does not count: requests per CPU-second on one core. "wall": elapsed time.
 */
export type Clock = "cpu" | "wall"
const cpuNow = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

const measure = async (policy: string, s: Stream, lookup: Lookup, timeMs: number, chunk: number, clock: Clock) => {
  const replay = makeReplay(policy, s, lookup)
  replay.step(s.model.length) // fill the cache: one full pass
  replay.resetCounts()
  const bench = new Bench({
    time: timeMs,
    warmupTime: Math.min(250, timeMs / 4),
    iterations: 10,
    ...(clock === "cpu" ? { now: cpuNow } : {})
  })
  bench.add(policy, () => replay.step(chunk))
  await bench.run()
  const r = bench.tasks[0]!.result
  if (!("latency" in r)) throw new Error(`bench of ${policy} did not complete: ${r.state}`)
  const m: Measure = {
    mReqPerSec: chunk / (r.latency.mean / 1000) / 1e6,
    rmePercent: r.latency.rme,
    samples: r.latency.samplesCount
  }
  return { m, hitRatio: replay.hitRatio(), residents: replay.cache.count }
}

export const benchPolicies = async (
  policies: readonly string[],
  s: Stream,
  opts: { readonly timeMs: number; readonly chunk: number; readonly clock: Clock }
): Promise<BenchRow[]> => {
  const rows: BenchRow[] = []
  for (const policy of policies) {
    const byId = await measure(policy, s, "id", opts.timeMs, opts.chunk, opts.clock)
    const byIndex = await measure(policy, s, "index", opts.timeMs, opts.chunk, opts.clock)
    rows.push({ policy, byId: byId.m, byIndex: byIndex.m, hitRatio: byId.hitRatio, residents: byId.residents })
  }
  return rows
}

const help = `meshkit bench-core — eviction policy micro-benchmark (requests/s through ModelCache)

usage: meshkit bench-core [--json] [--policies lru,fifo,...] [--time MS] [--clock cpu|wall] [--alpha A]
                          [--residents N] [--seed N]

  --policies  comma-separated eviction policies (default: all)
  --time      time budget per policy and lookup mode in ms (default 1000)
  --clock     cpu (default): per CPU-second of this process, robust on a shared machine;
              wall: per elapsed second
  --alpha     Zipf popularity exponent (default 0.9)
  --residents capacity in models of 100 MiB (default 10000; 12000 = all fit: the hit path alone)
  --seed      stream seed (default 1)
  --json      machine-readable output
  --in-process  all policies in this process (default: one fresh process each, so one policy's
              type feedback cannot slow down the next: the simulator runs one policy per cache)`

/** Run one policy's measurement in a fresh Node process (this file, through tsx) and read its JSON. */
const benchInChild = (policy: string, args: readonly string[]): BenchRow => {
  const here = fileURLToPath(import.meta.url)
  const r = spawnSync(
    process.execPath,
    ["--import", import.meta.resolve("tsx"), here, "--in-process", "--json", `--policies=${policy}`, ...args],
    { encoding: "utf8", maxBuffer: 16 << 20 }
  )
  if (r.status !== 0) throw new Error(`bench of ${policy} failed (exit ${r.status}): ${r.stderr || r.error?.message}`)
  const out = JSON.parse(r.stdout) as { results: BenchRow[] }
  return out.results[0]!
}

export const runCoreBench = async (argv: string[]): Promise<number> => {
  let values
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: {
        json: { type: "boolean", default: false },
        policies: { type: "string" },
        time: { type: "string", default: "1000" },
        alpha: { type: "string", default: "0.9" },
        seed: { type: "string", default: "1" },
        clock: { type: "string", default: "cpu" },
        residents: { type: "string", default: "10000" },
        "in-process": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false }
      }
    }).values
  } catch (e) {
    console.error(`meshkit bench-core: ${messageOf(e)}\nsee meshkit bench-core --help`)
    return 2
  }
  if (values.help) {
    console.log(help)
    return 0
  }
  const known = policiesOf("eviction").map((d) => d.name)
  const policies = values.policies ? values.policies.split(",").map((p) => p.trim()) : known
  const unknown = policies.filter((p) => !known.includes(p))
  const timeMs = Number(values.time)
  const alpha = Number(values.alpha)
  const seed = Number(values.seed)
  const residents = Number(values.residents)
  const bad = [
    unknown.length > 0 ? `unknown policies: ${unknown.join(", ")} (known: ${known.join(", ")})` : "",
    !(timeMs > 0) ? `--time must be a positive number of ms, got "${values.time}"` : "",
    !(alpha >= 0 && alpha <= 3) ? `--alpha must be in [0, 3], got "${values.alpha}"` : "",
    !Number.isInteger(seed) ? `--seed must be an integer, got "${values.seed}"` : "",
    !(Number.isInteger(residents) && residents > 0) ? `--residents must be a positive integer, got "${values.residents}"` : "",
    values.clock !== "cpu" && values.clock !== "wall" ? `--clock must be cpu or wall, got "${values.clock}"` : ""
  ].filter((x) => x !== "")
  if (bad.length > 0) {
    console.error(`meshkit bench-core: ${bad.join("; ")}\nsee meshkit bench-core --help`)
    return 2
  }
  const spec: StreamSpec = { models: 12_000, residents, alpha, length: 1 << 20, seed }
  const chunk = 1 << 16
  const stream = makeStream(spec)
  const clock = values.clock as Clock
  const rows = values["in-process"]
    ? await benchPolicies(policies, stream, { timeMs, chunk, clock })
    : policies.map((p) => benchInChild(p, [`--time=${timeMs}`, `--alpha=${alpha}`, `--seed=${seed}`, `--residents=${residents}`, `--clock=${clock}`]))
  const machine = { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, node: process.version }
  if (values.json) {
    console.log(JSON.stringify({ machine, clock, stream: { ...spec, chunk, capacityBytes: stream.capacity }, results: rows }, null, 2))
    return 0
  }
  console.log(
    `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${spec.models} models, Zipf ${alpha}, ` +
      `sizes 50–150 MiB, capacity ${spec.residents} × 100 MiB; ${chunk} requests per sample; ${clock} clock`
  )
  console.log("")
  console.log("| policy | M req/s (get by id) | ± % | M req/s (by index) | ± % | hit ratio | residents |")
  console.log("|---|---:|---:|---:|---:|---:|---:|")
  for (const r of rows) {
    console.log(
      `| ${r.policy} | ${r.byId.mReqPerSec.toFixed(2)} | ${r.byId.rmePercent.toFixed(1)} | ` +
        `${r.byIndex.mReqPerSec.toFixed(2)} | ${r.byIndex.rmePercent.toFixed(1)} | ${r.hitRatio.toFixed(3)} | ${r.residents} |`
    )
  }
  return 0
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await runCoreBench(process.argv.slice(2))
}
