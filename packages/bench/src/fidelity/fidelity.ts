import { linkSync, mkdirSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { makeRng } from "@meshkit/core"
import type { LatencyPercentiles, PolicyResult } from "@meshkit/sim"
import { fetchMetrics } from "../harness/prometheus.js"
import { runLoad } from "../harness/load.js"
import { cpuMsOf } from "../report/machine.js"
import { replay, sequentialLatencies, type ReplayResult } from "./replay-client.js"
import { inferBody, startMeshkit, timedInfer, type RunningServer } from "../harness/servers.js"

/**
 * Simulator fidelity: the same trace through the real server and through the simulator, side by
 * side. The scenario's trace is cut to a window, time-compressed, and its models are made real:
 * ONNX files at the scenario's sizes divided by `sizeScale` (the machine cannot hold hundreds of
 * GB), with the memory budget scaled alike. The whole cluster's traffic goes to one server (one
 * process is one instance), so budget = instances × memory per instance.
 *
 * Calibration comes from the real run, as a user would calibrate: load time = fixed + size /
 * bandwidth fitted to every model's last measured load (the server's status API); model sizes
 * from the sizes the server measured after load; unload time from its metrics; execution
 * measured afterwards on models of several sizes: the time a request holds the server (its CPU
 * time per request under a few connections), fitted linearly in the file size, with the lognormal
 * spread of single-request latencies, and the rest of a single request's latency (network,
 * client, HTTP) as a per-request overhead that holds nothing.
 *
 * Definitions, identical on both sides: hit ratio = 1 − (requests that triggered a load) /
 * requests; cold starts = requests that waited for a load (the trigger and those that joined it);
 * latency = arrival to response, µs.
 */

export interface FidelityOptions {
  readonly scenarioFile: string
  readonly sets: ReadonlyArray<string>
  /** trace minutes replayed (from the start of the trace) */
  readonly minutes: number
  /** time compression: trace time / wall time */
  readonly compress: number
  /** model file size = scenario size / sizeScale */
  readonly sizeScale: number
  /**
   * bytes of server memory per byte of model file (the ONNX runtime's measured RSS per file byte
   * is 1.75–1.9 for small models, and the server's default prediction factor is 2): the budget is
   * scaled by it so the same share of the models fits as in the scenario
   */
  readonly memoryFactor: number
  readonly policy: string
  /** the server's --runtime-workers (0: the ONNX runtime on the JS thread) */
  readonly runtimeWorkers: number
  /**
   * the simulator's runtime threads per instance; default: what the server has — its workers,
   * or 1 (the JS thread) without workers. 0 = unlimited (loads and inferences never wait for each other)
   */
  readonly simRuntimeThreads?: number
  readonly workDir: string
  readonly progress: (line: string) => void
  /** write every real request (index, model, scheduled ms, sent ms, latency µs, status) to this CSV file */
  readonly dumpFile?: string
}

export interface Side {
  readonly hitRatio: number
  readonly coldStarts: number
  readonly latencyUs: { readonly p50: number; readonly p99: number }
}

export type SimSide = Side & { readonly requests: number; readonly loads: number; readonly latencyAll: LatencyPercentiles }

export interface FidelityResult {
  readonly scenario: string
  readonly settings: {
    readonly policy: string
    readonly minutes: number
    readonly compress: number
    readonly sizeScale: number
    readonly memoryBytes: number
    readonly requests: number
    readonly models: number
    readonly maxConcurrentLoads: number
    readonly modelConcurrency: number
    readonly runtimeWorkers: number
    readonly simRuntimeThreads: number
  }
  readonly calibration: {
    readonly loadFixedMs: number
    readonly loadBytesPerSecond: number
    readonly loadSamples: number
    /** lognormal σ of load times around the fit */
    readonly loadSigma: number
    readonly unloadMs: number
    /** how long a request holds the runtime thread, at 1 MiB of model file, and per further MiB */
    readonly execMsAt1MiB: number
    readonly execMsPerMiB: number
    readonly execSigma: number
    /** latency of a request outside the runtime (network, client, HTTP): added, holds nothing */
    readonly requestOverheadMs: number
    readonly sizePerFileByte: number
    readonly sessionOverheadBytes: number
  }
  readonly real: Side & { readonly requests: number; readonly loads: number; readonly latencyAll: LatencyPercentiles; readonly statuses: Readonly<Record<string, number>>; readonly errors: number; readonly wallSeconds: number; readonly sendLagMsP99: number }
  readonly sim: SimSide
  /** the measurements behind the calibration: [size in memory, last load ms], [file bytes, measured size], execution samples */
  readonly data: {
    readonly loads: ReadonlyArray<readonly [number, number]>
    readonly sizes: ReadonlyArray<readonly [number, number]>
    readonly exec: ReadonlyArray<{ readonly fileBytes: number; readonly holdMs: number; readonly idleMs: ReadonlyArray<number> }>
  }
  /** the simulator without the runtime-thread model (runtimeThreads unlimited), for comparison */
  readonly simUnlimitedThreads: SimSide
  readonly series: {
    readonly realCdf: ReadonlyArray<readonly [number, number]>
    readonly simCdf: ReadonlyArray<readonly [number, number]>
    readonly simUnlimitedCdf: ReadonlyArray<readonly [number, number]>
  }
  /**
   * Where the two sides part: mean load time (real: every load, /metrics; sim: the calibrated
   * model over the same models' loads), mean wait of a cold-start request for its load (real:
   * /metrics, sim: coldStartSeconds / coldStarts), and the replay client's own lag.
   */
  readonly diagnostics: {
    readonly realMeanLoadMs: number
    readonly simMeanLoadMs: number
    readonly realMeanLoadingWaitMs: number
    readonly simMeanLoadingWaitMs: number
    readonly realMeanUnloadMs: number
  }
  /** goal: hit ratio within 2 points, p99 within 20 % */
  readonly goal: { readonly hitRatioPoints: number; readonly p99RelativeError: number; readonly met: boolean }
}

const KIB = 1024
const MIB = 1024 ** 2
const MIN_FILE = 64 * KIB
/** model files come in sizes 10 % apart: one generated file per size, the models hard links to them */
const BUCKET_RATIO = 1.1
const CALIBRATION_POINTS = 5
const EXEC_SAMPLES = 30

export const runFidelity = async (o: FidelityOptions): Promise<FidelityResult> => {
  const sim = await import("@meshkit/sim")
  const loaded = await sim.loadScenario(o.scenarioFile, { sets: o.sets })
  const cluster = loaded.cluster
  const trace = sim.openTrace(loaded.source)
  const window = await takeWindow(trace, o.minutes * 60_000)
  if (window.timeMs.length === 0) throw new Error(`${o.scenarioFile}: the trace has no requests in its first ${o.minutes} minutes`)
  const table = trace.models
  const t0 = window.timeMs[0]!
  const atMs = Float64Array.from(window.timeMs, (t) => (t - t0) / o.compress)
  const used = [...new Set(window.model)].sort((a, b) => a - b)
  o.progress(`${loaded.name}: ${window.timeMs.length} requests over ${used.length} models in the first ${o.minutes} trace minutes, replayed in ${fmtS(atMs[atMs.length - 1]! / 1000)} s (×${o.compress})`)

  // ---- real model files ----
  const buckets = join(o.workDir, "buckets")
  const modelsDir = join(o.workDir, "models")
  mkdirSync(buckets, { recursive: true })
  mkdirSync(modelsDir, { recursive: true })
  const { makeModel } = await import("@meshkit/onnx-models")
  const bucketFile = new Map<number, string>()
  const fileFor = (scenarioBytes: number): string => {
    const want = Math.max(MIN_FILE, scenarioBytes / o.sizeScale)
    const k = Math.round(Math.log(want / MIN_FILE) / Math.log(BUCKET_RATIO))
    let f = bucketFile.get(k)
    if (f === undefined) {
      f = join(buckets, `b${k}.onnx`)
      writeFileSync(f, makeModel({ sizeBytes: Math.round(MIN_FILE * BUCKET_RATIO ** k), seed: k + 1 }))
      bucketFile.set(k, f)
    }
    return f
  }
  const nameOf = new Map<number, string>()
  const indexOf = new Map<string, number>()
  const fileBytes = new Float64Array(table.ids.length)
  const taken = new Set<string>()
  for (const m of used) {
    let name = table.ids[m]!.replace(/[^A-Za-z0-9._-]/g, "_")
    while (taken.has(name) || name.startsWith("zz-")) name = `m_${name}`
    taken.add(name)
    nameOf.set(m, name)
    indexOf.set(name, m)
    const file = join(modelsDir, `${name}.onnx`)
    linkSync(fileFor(table.sizes[m]!), file)
    fileBytes[m] = statSync(file).size
  }
  // models never requested during the replay: one to warm the server up, some to time execution after it
  const sortedFiles = used.map((m) => table.sizes[m]!).sort((a, b) => a - b)
  const calib = Array.from({ length: CALIBRATION_POINTS }, (_, j) => {
    const name = `zz-calib-${j}`
    const file = join(modelsDir, `${name}.onnx`)
    linkSync(fileFor(sortedFiles[Math.min(sortedFiles.length - 1, Math.round((j / (CALIBRATION_POINTS - 1)) * (sortedFiles.length - 1)))]!), file)
    return { name, bytes: statSync(file).size }
  })
  linkSync(fileFor(0), join(modelsDir, "zz-warm.onnx"))
  o.progress(`${used.length} models from ${bucketFile.size} generated files (sizes ÷ ${o.sizeScale}, ${fmtS(sum(used.map((m) => fileBytes[m]!)) / MIB)} MiB of files)`)

  // ---- the real server ----
  const memoryBytes = Math.round(((cluster.instances * cluster.memoryBytes) / o.sizeScale) * o.memoryFactor)
  const server = await startMeshkit({
    models: modelsDir,
    memory: String(memoryBytes),
    dataDir: join(o.workDir, "data"),
    extra: [
      "--grpc-port", "off",
      "--eviction", o.policy,
      "--max-concurrent-loads", String(cluster.maxConcurrentLoads),
      "--model-concurrency", String(cluster.modelConcurrency),
      "--queue-limit", "1000000",
      "--load-queue-limit", "1000000",
      "--runtime-workers", String(o.runtimeWorkers)
    ]
  })
  const body = inferBody("input", 64)
  let real: ReplayResult
  let metricsDelta: (name: string) => number
  let statuses: ModelStatus[]
  let execPoints: Array<{ bytes: number; idleMs: number[]; holdMs: number }>
  try {
    const warm = await timedInfer(server.inferUrl("zz-warm"), body)
    if (warm.status !== 200) throw new Error(`meshkit answered ${warm.status} to the warm-up request: ${warm.text.slice(0, 300)}`)
    await unload(server, "zz-warm")
    const before = await fetchMetrics(server.baseUrl)
    const port = Number(new URL(server.baseUrl).port)
    const paths = used.map((m) => new URL(server.inferUrl(nameOf.get(m)!)).pathname)
    const pathIndex = new Map(used.map((m, i) => [m, i]))
    const dump: string[] = o.dumpFile ? ["index,model,scheduledMs,sentMs,latencyUs,status"] : []
    real = await replay({
      host: "127.0.0.1",
      port,
      body,
      ...(o.dumpFile ? { onResponse: (i: number, sentMs: number, us: number, status: number) => dump.push(`${i},${nameOf.get(window.model[i]!)},${atMs[i]!.toFixed(3)},${sentMs.toFixed(3)},${us},${status}`) } : {}),
      schedule: { atMs, target: Int32Array.from(window.model, (m) => pathIndex.get(m)!), paths },
      onProgress: (sent, n) => o.progress(`real: ${sent}/${n} sent`)
    })
    if (o.dumpFile) writeFileSync(o.dumpFile, dump.join("\n") + "\n")
    const after = await fetchMetrics(server.baseUrl)
    metricsDelta = (name) => (after.get(name) ?? 0) - (before.get(name) ?? 0)
    statuses = await listModels(server)
    o.progress(`real: ${real.ok}/${real.sent} ok in ${fmtS(real.seconds)} s, p50 ${real.latencyUs.p50} µs, p99 ${real.latencyUs.p99} µs`)
    // Execution, per model size: how long a request holds the server (1 / throughput with a few
    // connections: the runtime thread is the bottleneck), and its latency alone (with the replay's
    // HTTP client); the difference is time outside the runtime (network, client, HTTP parsing).
    execPoints = []
    const gapMs = Math.min(20, Math.max(1, (real.seconds * 1000) / real.sent))
    for (const c of calib) {
      const first = await timedInfer(server.inferUrl(c.name), body)
      if (first.status !== 200) throw new Error(`calibration model ${c.name}: status ${first.status}: ${first.text.slice(0, 200)}`)
      const path = new URL(server.inferUrl(c.name)).pathname
      const idle = await sequentialLatencies({ host: "127.0.0.1", port, path, body, n: EXEC_SAMPLES, gapMs })
      // CPU time the server spends per request under load: unlike 1 / throughput, not inflated
      // when other work on the machine takes the core away
      const cpu0 = cpuMsOf(server.child.pid)
      const busy = await runLoad({ url: server.inferUrl(c.name), connections: 8, durationSeconds: 1, body })
      const cpu1 = cpuMsOf(server.child.pid)
      if (busy.ok !== busy.responses || busy.errors > 0) throw new Error(`calibration model ${c.name}: ${busy.responses - busy.ok} non-2xx, ${busy.errors} errors under load`)
      const holdMs = cpu0 !== undefined && cpu1 !== undefined && cpu1 > cpu0 ? (cpu1 - cpu0) / busy.responses : 1000 / busy.throughput
      execPoints.push({ bytes: c.bytes, idleMs: idle, holdMs })
    }
  } finally {
    await server.child.stop()
  }

  // ---- calibration ----
  // sizes in memory: linear in the file size, fitted to the sizes the server measured for the models resident at the end
  const resident = statuses.filter((s) => !s.id.startsWith("zz-") && s.status === "LOADED")
  const fileOf = (id: string) => statSync(join(modelsDir, `${id}.onnx`)).size
  const sizeFit = linearFit(resident.map((s) => [fileOf(s.id), s.sizeBytes] as const))
  const sizePerFileByte = sizeFit.slope > 0 ? sizeFit.slope : 2
  const sessionOverheadBytes = Math.max(0, sizeFit.slope > 0 ? sizeFit.intercept : 0)
  const simSizes = table.sizes.map((_, m) => Math.round(fileBytes[m]! * sizePerFileByte + sessionOverheadBytes))
  // load time against the size the simulator gives each model
  const loadedModels = statuses.filter((s) => !s.id.startsWith("zz-") && s.loads > 0 && s.lastLoadMs !== null)
  const loadPoints = loadedModels.map((s) => [simSizes[indexOf.get(s.id)!]!, s.lastLoadMs!] as const)
  const loadFit = linearFit(loadPoints)
  const loadFixedMs = Math.max(0, loadFit.slope > 0 ? loadFit.intercept : mean(loadedModels.map((s) => s.lastLoadMs!)))
  const loadBytesPerSecond = loadFit.slope > 0 ? 1000 / loadFit.slope : 1e15
  // the spread of real loads around the fit (robust: from the 10th and 90th percentiles of log(real / fitted))
  const loadLogRatios = loadPoints.map(([b, ms]) => Math.log(Math.max(0.01, ms) / Math.max(0.01, loadFixedMs + (b * 1000) / loadBytesPerSecond)))
  const loadSigma = loadLogRatios.length >= 10 ? Math.max(0, (quantile(loadLogRatios, 0.9) - quantile(loadLogRatios, 0.1)) / 2.563) : 0
  const unloads = metricsDelta("meshkit_unload_duration_seconds_count")
  const unloadMs = unloads > 0 ? (metricsDelta("meshkit_unload_duration_seconds_sum") * 1000) / unloads : 0
  const holds = execPoints.map((p) => [p.bytes, p.holdMs] as const)
  const execFit = linearFit(holds)
  const execSlope = Math.max(0, execFit.slope)
  const execIntercept = execFit.slope >= 0 ? execFit.intercept : mean(holds.map(([, ms]) => ms))
  const execAt = (bytes: number) => Math.max(0.01, execIntercept + execSlope * bytes)
  const ratios = execPoints.flatMap((p) => {
    const m = median(p.idleMs)
    return p.idleMs.map((x) => Math.log(x / m))
  })
  const execSigma = Math.max(0, quantile(ratios, 0.9) / 1.2816)
  const requestOverheadMs = Math.max(0, median(execPoints.map((p) => median(p.idleMs) - execAt(p.bytes))))
  o.progress(
    `calibration: load ${fmtS(loadFixedMs)} ms + size / ${fmtS(loadBytesPerSecond / MIB)} MiB/s, σ ${fmtS(loadSigma)} (${loadedModels.length} models), unload ${fmtS(unloadMs)} ms, ` +
      `exec ${fmtS(execAt(MIB))} ms at 1 MiB + ${fmtS(execSlope * MIB)} ms/MiB (σ ${fmtS(execSigma)}) + ${fmtS(requestOverheadMs)} ms outside, size = ${fmtS(sizePerFileByte)} × file + ${fmtS(sessionOverheadBytes / KIB)} KiB`
  )

  // ---- the simulator on the same requests ----
  const runtimeThreads = o.simRuntimeThreads ?? Math.max(1, o.runtimeWorkers)
  const rng = makeRng(loaded.scenario.seed)
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next())
  const execMs = Float64Array.from(window.model, (m) => execAt(fileBytes[m]!) * Math.exp(execSigma * gauss()))
  const simTrace = sim.arrayTrace(`${loaded.name} (fidelity window)`, { ids: table.ids, tenants: table.tenants, sizes: simSizes }, atMs, window.model, execMs)
  const simulateWith = (threads: number) =>
    sim.simulate(simTrace, {
      mode: "full",
      cluster: {
        instances: 1,
        memoryBytes,
        maxConcurrentLoads: cluster.maxConcurrentLoads,
        loadFixedMs,
        loadBytesPerSecond,
        unloadMs,
        exec: { kind: "constant", ms: execAt(MIB) },
        modelConcurrency: cluster.modelConcurrency,
        maxCopies: 1,
        runtimeThreads: threads,
        requestOverheadMs,
        loadSigma
      },
      eviction: o.policy,
      placement: "modelmesh",
      routing: "least-in-flight",
      scaling: "none",
      seed: loaded.scenario.seed,
      sloMs: loaded.scenario.slo.latencyMs
    })
  const out = await simulateWith(runtimeThreads)
  // the same simulation without the runtime-thread model, to show what it changes
  const unlimited = runtimeThreads === 0 ? out : await simulateWith(0)
  const r = out.result
  const realLoads = metricsDelta("meshkit_load_duration_seconds_count")
  const realSide = {
    requests: real.sent,
    hitRatio: 1 - realLoads / real.sent,
    coldStarts: metricsDelta("meshkit_cache_misses_total"),
    loads: realLoads,
    latencyUs: { p50: real.latencyUs.p50, p99: real.latencyUs.p99 },
    latencyAll: { p50: real.latencyUs.p50, p90: real.latencyUs.p90, p99: real.latencyUs.p99, p999: real.latencyUs.p999 },
    statuses: real.statuses,
    errors: real.errors,
    wallSeconds: real.seconds,
    sendLagMsP99: real.sendLagMs.p99
  }
  const simSide = sideOf(r)
  const hitRatioPoints = Math.abs(simSide.hitRatio - realSide.hitRatio) * 100
  const p99RelativeError = Math.abs(simSide.latencyUs.p99 - realSide.latencyUs.p99) / realSide.latencyUs.p99
  return {
    scenario: loaded.name,
    settings: {
      policy: o.policy,
      minutes: o.minutes,
      compress: o.compress,
      sizeScale: o.sizeScale,
      memoryBytes,
      requests: window.timeMs.length,
      models: used.length,
      maxConcurrentLoads: cluster.maxConcurrentLoads,
      modelConcurrency: cluster.modelConcurrency,
      runtimeWorkers: o.runtimeWorkers,
      simRuntimeThreads: runtimeThreads
    },
    calibration: {
      loadFixedMs,
      loadBytesPerSecond,
      loadSamples: loadedModels.length,
      loadSigma,
      unloadMs,
      execMsAt1MiB: execAt(MIB),
      execMsPerMiB: execSlope * MIB,
      execSigma,
      requestOverheadMs,
      sizePerFileByte,
      sessionOverheadBytes
    },
    real: realSide,
    sim: simSide,
    series: { realCdf: real.cdf, simCdf: out.series.latencyCdf, simUnlimitedCdf: unlimited.series.latencyCdf },
    data: {
      loads: loadPoints.map(([b, ms]) => [b, Math.round(ms * 100) / 100] as const),
      sizes: resident.map((st) => [fileOf(st.id), st.sizeBytes] as const),
      exec: execPoints.map((p) => ({ fileBytes: p.bytes, holdMs: p.holdMs, idleMs: p.idleMs.map((x) => Math.round(x * 1000) / 1000) }))
    },
    simUnlimitedThreads: sideOf(unlimited.result),
    diagnostics: {
      realMeanLoadMs: realLoads > 0 ? (metricsDelta("meshkit_load_duration_seconds_sum") * 1000) / realLoads : 0,
      simMeanLoadMs: simMeanLoadMs(loadedModels.map((st) => [simSizes[indexOf.get(st.id)!]!, st.loads] as const), loadFixedMs, loadBytesPerSecond),
      realMeanLoadingWaitMs: ratio(metricsDelta("meshkit_model_loading_wait_seconds_sum") * 1000, metricsDelta("meshkit_model_loading_wait_seconds_count")),
      simMeanLoadingWaitMs: ratio(r.coldStartSeconds * 1000, r.coldStarts),
      realMeanUnloadMs: unloadMs
    },
    goal: { hitRatioPoints, p99RelativeError, met: hitRatioPoints <= 2 && p99RelativeError <= 0.2 }
  }
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : 0)

/** mean calibrated load time over loads: [size in memory, number of loads] per model */
const simMeanLoadMs = (models: ReadonlyArray<readonly [number, number]>, fixedMs: number, bytesPerSecond: number) =>
  ratio(sum(models.map(([size, n]) => n * (fixedMs + (size * 1000) / bytesPerSecond))), sum(models.map(([, n]) => n)))

const sideOf = (r: PolicyResult) => ({
  requests: r.requests,
  hitRatio: 1 - r.misses / r.requests,
  coldStarts: r.coldStarts,
  loads: r.loads,
  latencyUs: { p50: r.latencyUs.p50, p99: r.latencyUs.p99 },
  latencyAll: r.latencyUs
})

// ---- server control plane ----

interface ModelStatus {
  readonly id: string
  readonly status: string
  readonly sizeBytes: number
  readonly loads: number
  readonly lastLoadMs: number | null
}

const listModels = async (s: RunningServer): Promise<ModelStatus[]> => {
  const res = await fetch(`${s.baseUrl}/v1/models`)
  if (res.status !== 200) throw new Error(`GET /v1/models answered ${res.status}`)
  const body = (await res.json()) as unknown
  const list = Array.isArray(body) ? body : (body as { models?: unknown }).models
  if (!Array.isArray(list)) throw new Error("GET /v1/models: expected a list of model statuses")
  return list as ModelStatus[]
}

const unload = async (s: RunningServer, id: string): Promise<void> => {
  const res = await fetch(`${s.baseUrl}/v1/models/${id}/unload`, { method: "POST" })
  if (res.status >= 300) throw new Error(`POST /v1/models/${id}/unload answered ${res.status}: ${await res.text()}`)
  for (let i = 0; i < 100; i++) {
    const st = (await (await fetch(`${s.baseUrl}/v1/models/${id}`)).json()) as { status?: string }
    if (st.status === "NOT_LOADED") return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${id} did not unload within 5 s`)
}

// ---- trace window ----

const takeWindow = async (trace: { chunks(): AsyncIterable<{ length: number; timeMs: Float64Array; model: Int32Array }> }, endMs: number) => {
  const times: number[] = []
  const models: number[] = []
  let start = NaN
  outer: for await (const c of trace.chunks()) {
    for (let i = 0; i < c.length; i++) {
      const t = c.timeMs[i]!
      if (start !== start) start = t
      if (t - start >= endMs) break outer
      times.push(t)
      models.push(c.model[i]!)
    }
  }
  return { timeMs: Float64Array.from(times), model: Int32Array.from(models) }
}

// ---- small statistics ----

const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)
const mean = (xs: ReadonlyArray<number>) => (xs.length === 0 ? 0 : sum(xs) / xs.length)
const quantile = (xs: ReadonlyArray<number>, q: number) => {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}
const median = (xs: ReadonlyArray<number>) => quantile(xs, 0.5)

/** least squares y = intercept + slope · x */
export const linearFit = (pts: ReadonlyArray<readonly [number, number]>): { intercept: number; slope: number } => {
  const n = pts.length
  if (n === 0) return { intercept: 0, slope: 0 }
  const mx = mean(pts.map((p) => p[0]))
  const my = mean(pts.map((p) => p[1]))
  let sxx = 0
  let sxy = 0
  for (const [x, y] of pts) {
    sxx += (x - mx) ** 2
    sxy += (x - mx) * (y - my)
  }
  const slope = sxx === 0 ? 0 : sxy / sxx
  return { intercept: my - slope * mx, slope }
}

const fmtS = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2))
