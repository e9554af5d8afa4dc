/**
 * Simulator throughput: simulated requests per second on one core (this thread), trace parsing
 * excluded — each trace is materialised first and replayed from memory.
 *
 *   npx tsx packages/bench/src/sim/sim-bench.ts [--azure DIR] [--runs N] [--requests N] [--only TEXT] [--json]
 *
 * Cases:
 *  - ideal lru / gdsf: one cache, zero load and execution time (pure cache replay);
 *  - full lru: 8 instances with load/exec timing, modelmesh placement, least-in-flight routing,
 *    modelmesh scaling.
 * On a generated trace (seeded: 2,000 models, 100 tenants, Zipf 1, on/off bursts, execution times
 * in the trace) and, with --azure, on the Azure Functions 2019 sample (first 120 minutes; execution
 * times drawn from the cluster's lognormal in the loop).
 * Each case runs --runs times (default 5); the best wall-clock run is reported with its CPU-time
 * rate beside it (on a shared machine, CPU time is the steadier figure).
 */
import { parseArgs } from "node:util"
import { cpus } from "node:os"
import {
  arrayTrace,
  azureTrace,
  defaultCluster,
  generatedTrace,
  materialize,
  simulate,
  type ClusterConfig,
  type SimConfig,
  type Trace
} from "@meshkit/sim"

const GiB = 1024 ** 3

interface Case {
  readonly name: string
  readonly trace: string
  readonly config: SimConfig
}

interface Measured {
  readonly case: string
  readonly trace: string
  readonly requests: number
  readonly missRatio: number
  readonly bestWallMps: number
  readonly medianWallMps: number
  readonly cpuMps: number
}

const fullCluster = (memoryBytes: number): ClusterConfig => ({
  ...defaultCluster,
  instances: 8,
  memoryBytes,
  maxConcurrentLoads: 4,
  loadFixedMs: 100,
  loadBytesPerSecond: 2 * GiB,
  unloadMs: 10,
  exec: { kind: "lognormal", medianMs: 5, sigma: 0.5 },
  modelConcurrency: 16,
  maxCopies: 4
})

const config = (mode: "ideal" | "full", eviction: string, cluster: ClusterConfig): SimConfig => ({
  mode,
  cluster,
  eviction,
  placement: "modelmesh",
  routing: "least-in-flight",
  scaling: mode === "full" ? "modelmesh" : "none",
  seed: 1,
  sloMs: 100
})

const inMemory = async (t: Trace): Promise<Trace> => {
  const m = await materialize(t)
  return arrayTrace(t.name, t.models, m.timeMs, m.model, m.execMs)
}

const measure = async (c: Case, trace: Trace, runs: number): Promise<Measured> => {
  const wall: number[] = []
  let cpuBest = 0
  let requests = 0
  let missRatio = 0
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage()
    const r = (await simulate(trace, c.config)).result
    const cpu = process.cpuUsage(c0)
    requests = r.requests
    missRatio = r.missRatio
    wall.push(r.requestsPerSecond)
    cpuBest = Math.max(cpuBest, r.requests / ((cpu.user + cpu.system) / 1e6))
  }
  wall.sort((a, b) => b - a)
  return {
    case: c.name,
    trace: c.trace,
    requests,
    missRatio,
    bestWallMps: wall[0]! / 1e6,
    medianWallMps: wall[Math.floor(wall.length / 2)]! / 1e6,
    cpuMps: cpuBest / 1e6
  }
}

const main = async () => {
  const { values } = parseArgs({
    options: {
      azure: { type: "string" },
      runs: { type: "string", default: "5" },
      requests: { type: "string", default: "2000000" },
      json: { type: "boolean", default: false },
      only: { type: "string" }
    }
  })
  const runs = Math.max(1, Number(values.runs))
  const log = (s: string) => {
    if (!values.json) console.error(s)
  }
  const traces: Array<[string, Trace, Case[]]> = []

  log("materialising the generated trace...")
  const gen = await inMemory(
    generatedTrace({
      seed: 1,
      models: 2000,
      tenants: 100,
      zipf: 1,
      rate: 2000,
      arrival: "onoff",
      onMs: 60_000,
      offMs: 600_000,
      sizeMedian: 64 * 1024 ** 2,
      sizeSigma: 0.8,
      execMedianMs: 5,
      execSigma: 0.5,
      requests: Number(values.requests)
    })
  )
  const genName = "generated (2,000 models, 100 tenants, Zipf 1, on/off bursts)"
  traces.push([
    genName,
    gen,
    [
      { name: "ideal lru, 8 GiB", trace: genName, config: config("ideal", "lru", { ...defaultCluster, memoryBytes: 8 * GiB }) },
      { name: "ideal gdsf, 8 GiB", trace: genName, config: config("ideal", "gdsf", { ...defaultCluster, memoryBytes: 8 * GiB }) },
      { name: "full lru, 8 × 2 GiB", trace: genName, config: config("full", "lru", fullCluster(2 * GiB)) },
      { name: "full lru, 8 × 8 GiB", trace: genName, config: config("full", "lru", fullCluster(8 * GiB)) }
    ]
  ])
  if (values.azure) {
    log("materialising the Azure sample (first 120 min)...")
    const az = await inMemory(azureTrace({ dir: values.azure, minutes: 120, exec: "none" }))
    const azName = "Azure Functions 2019 sample, 120 min"
    traces.push([
      azName,
      az,
      [
        { name: "ideal lru, 16 GiB", trace: azName, config: config("ideal", "lru", { ...defaultCluster, memoryBytes: 16 * GiB }) },
        { name: "ideal lru, 64 GiB", trace: azName, config: config("ideal", "lru", { ...defaultCluster, memoryBytes: 64 * GiB }) },
        { name: "full lru, 8 × 8 GiB", trace: azName, config: config("full", "lru", fullCluster(8 * GiB)) },
        { name: "full lru, 8 × 32 GiB", trace: azName, config: config("full", "lru", fullCluster(32 * GiB)) }
      ]
    ])
  }

  const results: Measured[] = []
  for (const [, trace, cases] of traces) {
    for (const c of cases) {
      if (values.only && !c.name.includes(values.only)) continue
      log(`${c.name} on ${c.trace}...`)
      results.push(await measure(c, trace, runs))
    }
  }

  if (values.json) {
    console.log(JSON.stringify({ machine: machine(), runs, results }, null, 2))
    return
  }
  console.log(`machine: ${machine()}; best of ${runs} runs, one thread, trace pre-materialised (parsing excluded)\n`)
  console.log("| case | trace | requests | miss ratio | M req/s (best wall) | M req/s (median wall) | M req/s (CPU time) |")
  console.log("|---|---|---:|---:|---:|---:|---:|")
  for (const r of results) {
    console.log(
      `| ${r.case} | ${r.trace} | ${r.requests.toLocaleString("en-US")} | ${r.missRatio.toFixed(4)} | ${r.bestWallMps.toFixed(2)} | ${r.medianWallMps.toFixed(2)} | ${r.cpuMps.toFixed(2)} |`
    )
  }
}

const machine = () => `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, Node ${process.version}`

await main()
