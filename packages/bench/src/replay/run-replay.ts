import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { loadavg } from "node:os"
import { dirname, join, resolve } from "node:path"
import { build, type Histogram } from "hdr-histogram-js"
import { meshkitBin, startChild, portFrom, type Child } from "../harness/children.js"
import { fetchMetrics, firstOf } from "../harness/prometheus.js"
import { inferBody, timedInfer } from "../harness/servers.js"
import { WARM_MODEL, writeModelFiles } from "../fidelity/model-files.js"
import { CDF_POINTS, replay } from "../fidelity/replay-client.js"
import { serverMemoryBytes } from "../fidelity/real-run.js"
import { loadWindow, type TraceWindow } from "../fidelity/trace-window.js"
import type { FidelityOptions } from "../fidelity/types.js"
import { REPLAY_KIND, type LatencyUs, type ReplayReport, type ReplaySide } from "./replay-report.js"

/**
 * `meshkit bench replay SCENARIO`: the scenario's trace (its first `minutes`, time-compressed
 * into `durationSeconds`, at most `maxRequests`) replayed open-loop against a real server started
 * from the working tree, with the user's models (--models DIR) or generated ones at the
 * scenario's sizes ÷ sizeScale. With `against` (another checkout's directory, or a running
 * server's URL) the same requests go to both, interleaved in the same run: the window is cut
 * into slices and each slice is replayed on one side then the other, in alternating order
 * (new, base, base, new, ...), so slow drift of a shared machine falls on both sides alike and
 * the comparison is a same-run ratio. Both servers see the whole trace in order.
 */
export interface ReplayOptions {
  readonly scenarioFile: string
  readonly sets: ReadonlyArray<string>
  /** the user's model directory: each trace model is served as DIR/<model>.onnx (or DIR/<model>/model.onnx) */
  readonly modelsDir?: string
  /** another checkout (its bin/meshkit.js) or http(s)://host:port of a running server */
  readonly against?: string
  /** the new side's checkout (default: this one, the working tree) */
  readonly newBuild?: string
  readonly durationSeconds: number
  readonly minutes: number
  readonly maxRequests: number
  readonly slices: number
  readonly sizeScale: number
  readonly memory?: string
  readonly eviction?: string
  /** the request body (KServe v2 JSON); default: the generated models' [1, 64] FP32 input */
  readonly bodyFile?: string
  readonly workDir: string
  readonly command: string
  readonly progress: (line: string) => void
}

interface Target {
  readonly label: string
  readonly baseUrl: string
  readonly port: number
  readonly host: string
  readonly child?: Child
}

const LOADS_METRIC = ["meshkit_load_duration_seconds_count", "meshkit_model_load_duration_seconds_count"]

export class ReplayInputError extends Error {}

const startSide = async (bin: string, label: string, o: { models: string; memory: string; eviction: string; extra: string[]; dataDir: string }): Promise<Target> => {
  const child = await startChild({
    label,
    command: process.execPath,
    args: [bin, "serve", "--models", o.models, "--port", "0", "--grpc-port", "off", "--memory", o.memory, "--eviction", o.eviction, "--data-dir", o.dataDir, "--log-level", "warn", ...o.extra],
    ready: /meshkit serve: listening http:\/\//,
    timeoutMs: 120_000,
    cwd: dirname(dirname(bin))
  })
  const port = portFrom(child.readyLine)
  return { label, baseUrl: `http://127.0.0.1:${port}`, port, host: "127.0.0.1", child }
}

const remoteSide = (url: string): Target => {
  const u = new URL(url)
  return { label: `server at ${u.origin}`, baseUrl: u.origin, port: Number(u.port || (u.protocol === "https:" ? 443 : 80)), host: u.hostname }
}

const hdr = () => build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 })
const percentiles = (h: Histogram): LatencyUs => ({ p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), p999: h.getValueAtPercentile(99.9), max: h.maxValue, mean: Math.round(h.mean) })

class SideRecorder {
  readonly all = hdr()
  readonly tenants = new Map<string, Histogram>()
  requests = 0
  ok = 0
  errors = 0
  readonly statuses: Record<string, number> = {}
  readonly failureSamples: string[] = []
  readonly slices: Array<{ p50: number; p99: number; p999: number }> = []
  loadsBefore: number | undefined
  loadsAfter: number | undefined

  constructor(readonly target: Target) {}

  side(): ReplaySide {
    const coldStarts = this.loadsBefore !== undefined && this.loadsAfter !== undefined ? this.loadsAfter - this.loadsBefore : null
    return {
      label: this.target.label,
      requests: this.requests,
      ok: this.ok,
      errors: this.requests - this.ok,
      statuses: this.statuses,
      latencyUs: percentiles(this.all),
      tenants: [...this.tenants].map(([tenant, h]) => ({ tenant, requests: h.totalCount, latencyUs: percentiles(h) })).sort((a, b) => (a.tenant < b.tenant ? -1 : 1)),
      coldStarts,
      hitRatio: coldStarts === null || this.requests === 0 ? null : Math.max(0, 1 - coldStarts / this.requests),
      cdf: this.all.totalCount === 0 ? [] : CDF_POINTS.map((f) => [this.all.getValueAtPercentile(f * 100), f] as const),
      failureSamples: this.failureSamples.slice(0, 3),
      slices: this.slices
    }
  }
}

const loadsOf = async (t: Target): Promise<number | undefined> => {
  try {
    return firstOf(await fetchMetrics(t.baseUrl), LOADS_METRIC)
  } catch {
    return undefined
  }
}

/** Model names the server uses for the trace's models (the user's files must be named so). */
const userModels = (w: TraceWindow, dir: string): Map<number, string> => {
  const nameOf = new Map<number, string>()
  const missing: string[] = []
  for (const m of w.used) {
    const name = w.table.ids[m]!.replace(/[^A-Za-z0-9._-]/g, "_")
    if (!existsSync(join(dir, `${name}.onnx`)) && !existsSync(join(dir, name, "model.onnx"))) missing.push(name)
    nameOf.set(m, name)
  }
  if (missing.length > 0) {
    throw new ReplayInputError(`--models ${dir}: ${missing.length} of the trace's ${w.used.length} models have no file (${missing.slice(0, 5).map((n) => `${n}.onnx`).join(", ")}${missing.length > 5 ? ", ..." : ""})`)
  }
  return nameOf
}

export const runReplay = async (o: ReplayOptions): Promise<ReplayReport> => {
  const compress = (o.minutes * 60) / o.durationSeconds
  const full = await loadWindow({ scenarioFile: o.scenarioFile, sets: o.sets, minutes: o.minutes, compress } as FidelityOptions)
  const w = cut(full, o.maxRequests)
  const n = w.atMs.length
  const generated = o.modelsDir === undefined
  const files = generated ? writeModelFiles(w, { workDir: o.workDir, sizeScale: o.sizeScale }) : undefined
  const nameOf = files?.nameOf ?? userModels(w, o.modelsDir!)
  const modelsDir = files?.dir ?? resolve(o.modelsDir!)
  const memoryBytes =
    o.memory !== undefined ? null : generated ? serverMemoryBytes(w, { sizeScale: o.sizeScale, memoryFactor: 2 } as FidelityOptions) : w.loaded.cluster.instances * w.loaded.cluster.memoryBytes
  const memory = o.memory ?? String(memoryBytes)
  const first = o.eviction ?? w.loaded.evictions[0] ?? "lru"
  const eviction = typeof first === "string" ? first : JSON.stringify(first)
  const body = o.bodyFile !== undefined ? readFileSync(o.bodyFile, "utf8") : inferBody("input", 64)
  const c = w.loaded.cluster
  const extra = ["--max-concurrent-loads", String(c.maxConcurrentLoads), "--model-concurrency", String(c.modelConcurrency), "--queue-limit", "1000000", "--load-queue-limit", "1000000"]
  o.progress(`${w.loaded.name}: ${n} requests on ${w.used.length} models, ${o.minutes} trace min in ${o.durationSeconds} s per side, ${o.slices} slices${o.against ? `, against ${o.against}` : ""}`)

  const sides: Target[] = []
  try {
    const newBin = o.newBuild === undefined ? meshkitBin : binOf(o.newBuild, "--new")
    sides.push(await startSide(newBin, o.newBuild === undefined ? `working tree (${dirname(dirname(meshkitBin))})` : `build at ${resolve(o.newBuild)}`, { models: modelsDir, memory, eviction, extra, dataDir: join(o.workDir, "data-new") }))
    if (o.against !== undefined) {
      if (/^https?:\/\//.test(o.against)) sides.push(remoteSide(o.against))
      else {
        const bin = binOf(o.against, "--against")
        sides.push(await startSide(bin, `build at ${resolve(o.against)}`, { models: modelsDir, memory, eviction, extra, dataDir: join(o.workDir, "data-base") }))
      }
    }
    const rec = sides.map((t) => new SideRecorder(t))
    // the process's first session (runtime start-up) is not part of the workload
    if (generated) for (const t of sides.filter((s) => s.child !== undefined)) await timedInfer(`${t.baseUrl}/v2/models/${WARM_MODEL}/infer`, body)
    for (const r of rec) r.loadsBefore = await loadsOf(r.target)

    const paths = w.used.map((m) => `/v2/models/${encodeURIComponent(nameOf.get(m)!)}/infer`)
    const pathIndex = new Map(w.used.map((m, i) => [m, i]))
    const tenantOf = (i: number) => w.table.tenants[w.model[i]!] ?? "default"
    const per = Math.ceil(n / o.slices)
    for (let k = 0; k < o.slices; k++) {
      const from = k * per
      const to = Math.min(n, from + per)
      if (from >= to) break
      const t0 = w.atMs[from]!
      const schedule = { atMs: Float64Array.from(w.atMs.subarray(from, to), (t) => t - t0), target: Int32Array.from(w.model.subarray(from, to), (m) => pathIndex.get(m)!), paths }
      const order = k % 2 === 0 ? rec : [...rec].reverse()
      for (const r of order) {
        const res = await replay({
          host: r.target.host,
          port: r.target.port,
          body,
          schedule,
          onResponse: (i, _sent, us) => {
            const t = tenantOf(from + i)
            let h = r.tenants.get(t)
            if (h === undefined) r.tenants.set(t, (h = hdr()))
            h.recordValue(us)
            r.all.recordValue(us)
          }
        })
        r.requests += res.sent
        r.ok += res.ok
        for (const [s, v] of Object.entries(res.statuses)) r.statuses[s] = (r.statuses[s] ?? 0) + v
        if (res.errors > 0) r.statuses.error = (r.statuses.error ?? 0) + res.errors
        r.failureSamples.push(...res.failureSamples)
        r.slices.push({ p50: res.latencyUs.p50, p99: res.latencyUs.p99, p999: res.latencyUs.p999 })
        o.progress(`slice ${k + 1}/${o.slices} ${r === rec[0] ? "new " : "base"}: ${res.ok}/${res.sent} ok, p50 ${res.latencyUs.p50} µs, p99 ${res.latencyUs.p99} µs`)
      }
    }
    for (const r of rec) r.loadsAfter = await loadsOf(r.target)
    const thresholds = w.loaded.scenario.regression ?? {}
    return {
      kind: REPLAY_KIND,
      scenario: w.loaded.name,
      generatedAt: new Date().toISOString(),
      command: o.command,
      settings: { minutes: o.minutes, durationSeconds: o.durationSeconds, compress, slices: o.slices, requests: n, models: w.used.length, memoryBytes, eviction, generatedModels: generated, loadAverage: loadavg()[0]! },
      thresholds,
      new: rec[0]!.side(),
      ...(rec[1] !== undefined ? { base: rec[1].side() } : {})
    }
  } finally {
    await Promise.all(sides.map((s) => s.child?.stop()))
  }
}

const binOf = (dir: string, flag: string): string => {
  const bin = join(resolve(dir), "bin", "meshkit.js")
  if (!existsSync(bin)) throw new ReplayInputError(`${flag} ${dir}: no bin/meshkit.js there (give a meshkit checkout, after npm ci${flag === "--against" ? ", or a server's URL" : ""})`)
  return bin
}

/** At most `max` requests from the window's start. */
const cut = (w: TraceWindow, max: number): TraceWindow => {
  if (w.atMs.length <= max) return w
  const model = w.model.slice(0, max)
  return { ...w, timeMs: w.timeMs.slice(0, max), atMs: w.atMs.slice(0, max), model, used: [...new Set(model)].sort((a, b) => a - b) }
}

export const writeReplayReport = (file: string, r: ReplayReport): void => {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`)
}
