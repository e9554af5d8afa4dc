import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { runLoad } from "../harness/load.js"
import { sumSamples } from "../harness/prometheus.js"
import { inferBody, startMeshkit, timedInfer, type RunningServer } from "../harness/servers.js"
import { cpuMsOf } from "../report/machine.js"
import { parseScrape, type Scrape } from "./metrics-read.js"
import { WARM_MODEL, type ModelFiles } from "./model-files.js"
import { replay, sequentialLatencies, type ReplayResult } from "./replay-client.js"
import { schedDelta, schedOf, type SchedDelta } from "./schedstat.js"
import { fmtS } from "./stats.js"
import type { TraceWindow } from "./trace-window.js"
import type { FidelityOptions } from "./types.js"

/**
 * Step 3: the real server. One meshkit process holds the whole cluster's memory (scaled like the
 * sizes); it is warmed up on a model outside the replay, replays the window on its schedule, and
 * then times execution on the calibration models.
 */

const EXEC_SAMPLES = 30

export interface ModelStatus {
  readonly id: string
  readonly status: string
  readonly sizeBytes: number
  readonly loads: number
  readonly lastLoadMs: number | null
}

/** One model size's execution: how long a request holds the server, and its latencies alone. */
export interface ExecPoint {
  readonly bytes: number
  readonly idleMs: number[]
  readonly holdMs: number
  /** the server's main thread's CPU time per request under those connections (schedstat), when readable */
  readonly threadCpuMs?: number
}

/** Where execution is timed: a server's address and its process (for its CPU time). */
export interface ExecTarget {
  readonly baseUrl: string
  readonly pid: number
}

export const inferUrlOf = (baseUrl: string, model: string) => `${baseUrl}/v2/models/${encodeURIComponent(model)}/infer`

export interface RealRun {
  readonly memoryBytes: number
  readonly replay: ReplayResult
  /** a counter's increase over the replay, from the server's /metrics */
  readonly metricsDelta: (name: string) => number
  /** the server's model statuses right after the replay */
  readonly statuses: ReadonlyArray<ModelStatus>
  readonly exec: ReadonlyArray<ExecPoint>
  /**
   * one server only: its /metrics right before and after the replay (histograms per bucket, for
   * the latency decomposition; prom-client's event-loop gauges reset at each scrape, so `after`
   * holds the replay's event-loop delay), and the server's CPU time over the replay
   */
  readonly scrapes?: { readonly before: Scrape; readonly after: Scrape }
  /** one server only: those two scrapes' text, for a recorded run (recorded-run.ts) */
  readonly metricsText?: { readonly before: string; readonly after: string }
  /**
   * one server only: loads timed alone after the replay, [file bytes, ms], on the calibration
   * models (see measureLoads)
   */
  readonly isolatedLoads?: ReadonlyArray<IsolatedLoad>
  readonly serverCpuMs?: number
  /** one server only: its main thread's scheduling over the replay (the share of a core it got) */
  readonly replaySched?: SchedDelta
  /** one server only: its main thread's scheduling over the replay, every SCHED_STEP_MS */
  readonly schedTimeline?: SchedTimeline
  /**
   * recorded runs only (--record): a few of the server's counters every COUNTER_STEP_MS of the
   * replay (cumulative values), to see where the JS thread's time went over the run
   */
  readonly counterTimeline?: CounterTimeline
}

export interface CounterTimeline {
  /** ms from the replay's start of each sample */
  readonly atMs: ReadonlyArray<number>
  /** counter name → its cumulative value at each sample */
  readonly values: Readonly<Record<string, ReadonlyArray<number>>>
}

const COUNTER_STEP_MS = 1000
const COUNTERS = [
  "meshkit_js_thread_load_hold_seconds_total",
  "meshkit_js_thread_load_holds_total",
  "meshkit_js_thread_unload_hold_seconds_total",
  "meshkit_load_duration_seconds_sum",
  "meshkit_load_duration_seconds_count",
  "meshkit_request_duration_seconds_count",
  "meshkit_process_cpu_seconds_total",
  "meshkit_nodejs_gc_duration_seconds_sum"
]

/** Scrape /metrics every COUNTER_STEP_MS (one at a time) until stopped; `stop(startMs)`: times from the replay's start. */
const sampleCounters = (baseUrl: string): { stop: (startMs: number) => Promise<CounterTimeline> } => {
  const t0 = performance.now()
  const atMs: number[] = []
  const values: Record<string, number[]> = Object.fromEntries(COUNTERS.map((c) => [c, []]))
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      await new Promise((r) => setTimeout(r, COUNTER_STEP_MS))
      try {
        const at = performance.now() - t0
        const sums = sumSamples(await metricsText(baseUrl))
        atMs.push(at)
        for (const c of COUNTERS) values[c]!.push(sums.get(c) ?? 0)
      } catch {
        return
      }
    }
  })()
  return {
    stop: async (startMs) => {
      stopped = true
      await loop
      return { atMs: atMs.map((t) => Math.round(t + t0 - startMs)), values }
    }
  }
}

/** the main thread's CPU and run-queue wait per step of the replay, ms (step i covers [i·stepMs, (i+1)·stepMs)) */
export interface SchedTimeline {
  readonly stepMs: number
  readonly cpuMs: ReadonlyArray<number>
  readonly waitMs: ReadonlyArray<number>
}

/**
 * 50 ms: the run-queue waits that stretch a request's latency come in stalls of tens of ms (a
 * 97 ms wait in one 250 ms step landed on a single 12 ms load, measured); at 250 ms the
 * simulator spread such a stall over the whole step and put it beside the work it held up.
 */
const SCHED_STEP_MS = 50
/** how often the thread's counters are read; steps are interpolated between reads */
const SCHED_SAMPLE_MS = 25

/**
 * Sample a process's main-thread schedstat every SCHED_SAMPLE_MS until stopped; `stop(startMs)`
 * turns the samples into steps of SCHED_STEP_MS from `startMs` (performance.now() of the replay's
 * first scheduled instant), interpolating the cumulative counters at each step's edges, so that
 * step i is the replay's [i·step, (i+1)·step) whatever the timer's jitter. Undefined where unreadable.
 */
const sampleSched = (pid: number | undefined): { stop: (startMs: number) => SchedTimeline | undefined } => {
  const at: number[] = []
  const cpu: number[] = []
  const wait: number[] = []
  let ok = true
  const read = () => {
    const s = schedOf(pid)
    if (s === undefined) {
      ok = false
      return
    }
    at.push(performance.now())
    cpu.push(s.cpuNs / 1e6)
    wait.push(s.waitNs / 1e6)
  }
  read()
  const timer = setInterval(read, SCHED_SAMPLE_MS)
  return {
    stop: (startMs) => {
      clearInterval(timer)
      read()
      return ok ? stepsOf(at, cpu, wait, startMs, SCHED_STEP_MS) : undefined
    }
  }
}

/** per-step deltas of cumulative counters sampled at times `at` (increasing), steps of `stepMs` from `startMs` */
export const stepsOf = (at: ReadonlyArray<number>, cpu: ReadonlyArray<number>, wait: ReadonlyArray<number>, startMs: number, stepMs: number): SchedTimeline | undefined => {
  const n = at.length === 0 ? 0 : Math.floor((at[at.length - 1]! - startMs) / stepMs)
  if (n < 1 || at[0]! > startMs) return undefined
  // the counters at time t, linear between the two samples around it
  const valueAt = (v: ReadonlyArray<number>, t: number): number => {
    let lo = 0
    let hi = at.length - 1
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1
      if (at[mid]! <= t) lo = mid
      else hi = mid
    }
    const span = at[hi]! - at[lo]!
    const f = span > 0 ? Math.min(1, Math.max(0, (t - at[lo]!) / span)) : 0
    return v[lo]! + f * (v[hi]! - v[lo]!)
  }
  const cpuMs: number[] = []
  const waitMs: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = startMs + i * stepMs
    const t1 = t0 + stepMs
    cpuMs.push(Math.round((valueAt(cpu, t1) - valueAt(cpu, t0)) * 1000) / 1000)
    waitMs.push(Math.round((valueAt(wait, t1) - valueAt(wait, t0)) * 1000) / 1000)
  }
  return { stepMs, cpuMs, waitMs }
}

export const serverMemoryBytes = (w: TraceWindow, o: FidelityOptions): number =>
  Math.round(((w.loaded.cluster.instances * w.loaded.cluster.memoryBytes) / o.sizeScale) * o.memoryFactor)

export const runOnServer = async (w: TraceWindow, files: ModelFiles, o: FidelityOptions): Promise<RealRun> => {
  const memoryBytes = serverMemoryBytes(w, o)
  const cluster = w.loaded.cluster
  const server = await startMeshkit({
    models: files.dir,
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
  try {
    await warmUp(server, body)
    const beforeText = await metricsText(server.baseUrl)
    const cpu0 = cpuMsOf(server.child.pid)
    const sched0 = schedOf(server.child.pid)
    const timeline = sampleSched(server.child.pid)
    const counters = o.recordFile === undefined ? undefined : sampleCounters(server.baseUrl)
    const real = await replayWindow(server, body, w, files, o)
    const schedTimeline = timeline.stop(real.startedAtMs)
    const counterTimeline = await counters?.stop(real.startedAtMs)
    const sched1 = schedOf(server.child.pid)
    const cpu1 = cpuMsOf(server.child.pid)
    const replaySched = schedDelta(sched0, sched1)
    const afterText = await metricsText(server.baseUrl)
    const before = sumSamples(beforeText)
    const after = sumSamples(afterText)
    const statuses = await listModels(server)
    o.progress(`real: ${real.ok}/${real.sent} ok in ${fmtS(real.seconds)} s, p50 ${real.latencyUs.p50} µs, p99 ${real.latencyUs.p99} µs`)
    const self = { baseUrl: server.baseUrl, pid: server.child.pid }
    const exec = await measureExecution(self, async () => self, body, files, Math.min(20, Math.max(1, (real.seconds * 1000) / real.sent)))
    const isolatedLoads = await measureLoads(server, body, files)
    return {
      isolatedLoads,
      ...(replaySched === undefined ? {} : { replaySched }),
      memoryBytes,
      replay: real,
      metricsDelta: (name) => (after.get(name) ?? 0) - (before.get(name) ?? 0),
      statuses,
      exec,
      scrapes: { before: parseScrape(beforeText), after: parseScrape(afterText) },
      metricsText: { before: beforeText, after: afterText },
      ...(schedTimeline === undefined ? {} : { schedTimeline }),
      ...(counterTimeline === undefined ? {} : { counterTimeline }),
      ...(cpu0 !== undefined && cpu1 !== undefined ? { serverCpuMs: cpu1 - cpu0 } : {})
    }
  } finally {
    await server.child.stop()
  }
}

/** One request on a model outside the replay (first-request costs paid), then unloaded again. */
const warmUp = async (server: RunningServer, body: string): Promise<void> => {
  const warm = await timedInfer(server.inferUrl(WARM_MODEL), body)
  if (warm.status !== 200) throw new Error(`meshkit answered ${warm.status} to the warm-up request: ${warm.text.slice(0, 300)}`)
  await unload(server, WARM_MODEL)
}

const replayWindow = async (server: RunningServer, body: string, w: TraceWindow, files: ModelFiles, o: FidelityOptions): Promise<ReplayResult> => {
  const paths = w.used.map((m) => new URL(server.inferUrl(files.nameOf.get(m)!)).pathname)
  const pathIndex = new Map(w.used.map((m, i) => [m, i]))
  const dump: string[] = o.dumpFile ? ["index,model,scheduledMs,sentMs,latencyUs,status"] : []
  const real = await replay({
    host: "127.0.0.1",
    port: Number(new URL(server.baseUrl).port),
    body,
    ...(o.dumpFile
      ? { onResponse: (i: number, sentMs: number, us: number, status: number) => dump.push(`${i},${files.nameOf.get(w.model[i]!)},${w.atMs[i]!.toFixed(3)},${sentMs.toFixed(3)},${us},${status}`) }
      : {}),
    schedule: { atMs: w.atMs, target: Int32Array.from(w.model, (m) => pathIndex.get(m)!), paths },
    onProgress: (sent, n) => o.progress(`real: ${sent}/${n} sent`)
  })
  if (o.dumpFile) writeFileSync(o.dumpFile, dump.join("\n") + "\n")
  return real
}

/**
 * Execution, per model size: how long a request holds the server, and its latency alone (with the
 * replay's HTTP client); the difference is time outside the runtime (network, client, HTTP parsing).
 */
export const measureExecution = async (entry: ExecTarget, holderOf: (model: string) => Promise<ExecTarget>, body: string, files: ModelFiles, gapMs: number): Promise<ExecPoint[]> => {
  const points: ExecPoint[] = []
  for (const c of files.calibration) {
    const first = await timedInfer(inferUrlOf(entry.baseUrl, c.name), body)
    if (first.status !== 200) throw new Error(`calibration model ${c.name}: status ${first.status}: ${first.text.slice(0, 200)}`)
    // in a cluster the copy may be on another instance: time it there, without a forwarding hop
    const at = await holderOf(c.name)
    const port = Number(new URL(at.baseUrl).port)
    const url = inferUrlOf(at.baseUrl, c.name)
    const path = new URL(url).pathname
    const idle = await sequentialLatencies({ host: "127.0.0.1", port, path, body, n: EXEC_SAMPLES, gapMs })
    // CPU time the server spends per request under a few connections (the runtime thread is the
    // bottleneck): unlike 1 / throughput, not inflated when other work on the machine takes the core away
    const cpu0 = cpuMsOf(at.pid)
    const s0 = schedOf(at.pid)
    const busy = await runLoad({ url, connections: 8, durationSeconds: 1, body })
    const s1 = schedOf(at.pid)
    const cpu1 = cpuMsOf(at.pid)
    const thread = schedDelta(s0, s1)
    if (busy.ok !== busy.responses || busy.errors > 0) throw new Error(`calibration model ${c.name}: ${busy.responses - busy.ok} non-2xx, ${busy.errors} errors under load`)
    const holdMs = cpu0 !== undefined && cpu1 !== undefined && cpu1 > cpu0 ? (cpu1 - cpu0) / busy.responses : 1000 / busy.throughput
    points.push({ bytes: c.bytes, idleMs: idle, holdMs, ...(thread !== undefined && busy.responses > 0 ? { threadCpuMs: thread.cpuMs / busy.responses } : {}) })
  }
  return points
}

/**
 * Loads timed alone: each calibration model unloaded and requested again, LOADS_PER_MODEL times,
 * one at a time, the load time read from the server's status (its own lastLoadMs). A load in the
 * replay is timed from its start to its end, and part of that is spent waiting for the event
 * loop (the file's stat is asynchronous, so everything queued on the JS thread runs first); the
 * simulator adds that wait itself when the load waits for the runtime thread, so it is given the
 * load's cost alone.
 */
const LOADS_PER_MODEL = 4

/** a load timed alone: its file size, its wall time (the server's lastLoadMs) and the main thread's CPU time over the request that triggered it */
export interface IsolatedLoad {
  readonly bytes: number
  readonly wallMs: number
  readonly threadCpuMs: number | undefined
}

export const measureLoads = async (server: RunningServer, body: string, files: ModelFiles): Promise<IsolatedLoad[]> => {
  const points: IsolatedLoad[] = []
  for (const c of files.calibration) {
    for (let k = 0; k < LOADS_PER_MODEL; k++) {
      await unload(server, c.name)
      const s0 = schedOf(server.child.pid)
      const r = await timedInfer(server.inferUrl(c.name), body)
      const d = schedDelta(s0, schedOf(server.child.pid))
      if (r.status !== 200) throw new Error(`calibration model ${c.name}: status ${r.status} on reload: ${r.text.slice(0, 200)}`)
      const st = (await (await fetch(`${server.baseUrl}/v1/models/${encodeURIComponent(c.name)}`)).json()) as { lastLoadMs?: number | null }
      if (typeof st.lastLoadMs === "number") points.push({ bytes: c.bytes, wallMs: st.lastLoadMs, threadCpuMs: d?.cpuMs })
    }
  }
  return points
}

// ---- the server's control plane ----

const metricsText = async (baseUrl: string): Promise<string> => {
  const res = await fetch(`${baseUrl}/metrics`)
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`)
  return res.text()
}

export const listModels = async (s: { readonly baseUrl: string }): Promise<ModelStatus[]> => {
  const res = await fetch(`${s.baseUrl}/v1/models`)
  if (res.status !== 200) throw new Error(`GET /v1/models answered ${res.status}`)
  const body = (await res.json()) as unknown
  const list = Array.isArray(body) ? body : (body as { models?: unknown }).models
  if (!Array.isArray(list)) throw new Error("GET /v1/models: expected a list of model statuses")
  return list as ModelStatus[]
}

export const unload = async (s: { readonly baseUrl: string }, id: string): Promise<void> => {
  const res = await fetch(`${s.baseUrl}/v1/models/${id}/unload`, { method: "POST" })
  if (res.status >= 300) throw new Error(`POST /v1/models/${id}/unload answered ${res.status}: ${await res.text()}`)
  for (let i = 0; i < 100; i++) {
    const st = (await (await fetch(`${s.baseUrl}/v1/models/${id}`)).json()) as { status?: string }
    if (st.status === "NOT_LOADED") return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${id} did not unload within 5 s`)
}
