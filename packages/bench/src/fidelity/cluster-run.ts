import { startLocalCluster, type LocalCluster, type LocalClusterInstance } from "@meshkit/server"
import { meshkitBin } from "../harness/children.js"
import { linkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { sumSamples } from "../harness/prometheus.js"
import { inferBody, timedInfer } from "../harness/servers.js"
import { AUX_PREFIX, WARM_MODEL, type ModelFiles } from "./model-files.js"
import { inferUrlOf, listModels, measureExecution, unload, type ExecTarget, type ModelStatus, type RealRun } from "./real-run.js"
import { replay, type ReplayResult } from "./replay-client.js"
import { fmtS } from "./stats.js"
import type { TraceWindow } from "./trace-window.js"
import type { FidelityOptions } from "./types.js"

/**
 * Step 3 on a cluster: an etcd and N `meshkit serve --etcd` processes on loopback
 * (startLocalCluster, as `meshkit cluster up` does), each with the scenario's memory per
 * instance (scaled like the sizes) and the scenario's placement, routing and scaling. The replay
 * spreads the requests over the instances round-robin, as a load balancer would; the instances
 * forward to wherever the copies are. Loads are read from every instance's /metrics, copies are
 * sampled from GET /v1/cluster during the replay. The cluster always stops.
 */

const COPY_SAMPLE_MS = 500

export interface ClusterRun extends RealRun {
  readonly instances: number
  /** successful loads over the replay (`meshkit_load_duration_seconds_count{outcome="success"}`), all instances */
  readonly loads: number
  /** the same per instance */
  readonly loadsPerInstance: ReadonlyArray<number>
  /** most copies one model had at once (sampled: instances that held it loaded when a sample began), and which model */
  readonly peakCopies: number
  readonly peakCopiesModel: string | null
  /** most copies (loaded or loading) in the whole cluster at once (sampled) */
  readonly peakTotalCopies: number
  /** most entries one model's shared copy map listed (stale entries of evicted copies included) */
  readonly peakListedCopies: number
  readonly copySamples: number
}

export const clusterMemoryBytes = (w: TraceWindow, o: FidelityOptions): number => Math.round((w.loaded.cluster.memoryBytes / o.sizeScale) * o.memoryFactor)

/** A policy choice as a serve flag value: its name, or JSON when it has options. */
const flagOf = (c: string | { readonly name: string; readonly options?: Readonly<Record<string, unknown>> | undefined }): string =>
  typeof c === "string" ? c : c.options === undefined ? c.name : JSON.stringify(c)

const warmName = (i: number) => (i === 0 ? WARM_MODEL : `${WARM_MODEL}-${i}`)

/** An instance's counters (summed over labels) and its successful loads. */
const metricsOf = async (url: string): Promise<{ sums: Map<string, number>; successLoads: number }> => {
  const res = await fetch(`${url}/metrics`)
  if (res.status !== 200) throw new Error(`GET ${url}/metrics answered ${res.status}`)
  const text = await res.text()
  const m = /^meshkit_load_duration_seconds_count\{outcome="success"\} (\S+)/m.exec(text)
  return { sums: sumSamples(text), successLoads: m ? Number(m[1]) : 0 }
}

const alive = (x: LocalClusterInstance) => x.child.exitCode === null && x.child.signalCode === null

export const runOnCluster = async (w: TraceWindow, files: ModelFiles, o: FidelityOptions, instances: number): Promise<ClusterRun> => {
  const memoryBytes = clusterMemoryBytes(w, o)
  const cluster = w.loaded.cluster
  const p = w.loaded.scenario.policies
  const scaling = flagOf(p.scaling)
  for (let i = 1; i < instances; i++) linkSync(join(files.dir, `${WARM_MODEL}.onnx`), join(files.dir, `${warmName(i)}.onnx`))
  const warnings = new Map<string, string>()
  const byMessage = new Map<string, number>()
  let warningCount = 0
  const lc: LocalCluster = await startLocalCluster({
    instances,
    serveCommand: [process.execPath, meshkitBin, "serve"],
    serveArgs: [
      "--models", files.dir,
      "--memory", String(memoryBytes),
      "--eviction", o.policy,
      "--max-concurrent-loads", String(cluster.maxConcurrentLoads),
      "--model-concurrency", String(cluster.modelConcurrency),
      "--queue-limit", "1000000",
      "--load-queue-limit", "1000000",
      "--runtime-workers", String(o.runtimeWorkers),
      "--placement", flagOf(p.placement),
      "--routing", flagOf(p.routing),
      "--scaling", scaling === "none" ? "off" : scaling,
      "--seed", String(w.loaded.scenario.seed),
      "--log-level", "warn"
    ],
    readyTimeoutMs: 120_000,
    // the instances log at warn: their warnings and errors are counted, the first few shown
    onLine: (i, line) => {
      if (!line.startsWith("{")) return
      warningCount++
      const msg = /"msg":"([^"]*)"/.exec(line)?.[1] ?? line.slice(0, 80)
      byMessage.set(msg, (byMessage.get(msg) ?? 0) + 1)
      if (!warnings.has(msg)) warnings.set(msg, `instance ${i}: ${line.slice(0, 400)}`)
    }
  })
  const body = inferBody("input", 64)
  try {
    const xs = lc.instances
    o.progress(`cluster: ${xs.length} instances up (etcd ${lc.etcd.endpoint}), ${fmtS(memoryBytes / 1024 ** 2)} MiB each`)
    await warmUp(xs, body)
    const before = await Promise.all(xs.map((x) => metricsOf(x.url)))
    const sampler = sampleCopies(xs.map((x) => x.url))
    let real: ReplayResult
    try {
      real = await replayOnCluster(xs, body, w, files, o)
    } finally {
      sampler.stop()
    }
    await sampler.done
    const after = await Promise.all(xs.map((x) => metricsOf(x.url)))
    const delta = (i: number, name: string) => (after[i]!.sums.get(name) ?? 0) - (before[i]!.sums.get(name) ?? 0)
    const loadsPerInstance = xs.map((_, i) => after[i]!.successLoads - before[i]!.successLoads)
    const metricsDelta = (name: string) => xs.reduce((a, _, i) => a + delta(i, name), 0)
    // each instance's own view of the models it loaded: the calibration fits per-instance loads
    const statuses = (await Promise.all(xs.map((x) => listModels({ baseUrl: x.url })))).flat()
    o.progress(`real: ${real.ok}/${real.sent} ok in ${fmtS(real.seconds)} s, p50 ${real.latencyUs.p50} µs, p99 ${real.latencyUs.p99} µs; peak copies of one model ${sampler.peak.copies}, most listed in its copy map ${sampler.peak.listed} (${sampler.samples} samples)`)
    if (real.failureSamples.length > 0) o.progress(`real: ${real.sent - real.ok} answers not 2xx, e.g.:\n  ${real.failureSamples.join("\n  ")}`)
    if (warningCount > 0)
      o.progress(`cluster: ${warningCount} warning/error log lines from the instances, by message (one example each):\n  ${[...byMessage].map(([m, n]) => `${n} × ${warnings.get(m)}`).join("\n  ")}`)
    const entry = { baseUrl: xs[0]!.url, pid: xs[0]!.child.pid ?? -1 }
    const exec = await measureExecution(entry, (id) => holderOf(xs, id), body, files, Math.min(20, Math.max(1, (real.seconds * 1000) / real.sent)))
    return {
      memoryBytes,
      replay: real,
      metricsDelta,
      statuses,
      exec,
      instances: xs.length,
      loadsPerInstance,
      loads: loadsPerInstance.reduce((a, b) => a + b, 0),
      peakCopies: sampler.peak.copies,
      peakCopiesModel: sampler.peak.model,
      peakTotalCopies: sampler.peak.total,
      peakListedCopies: sampler.peak.listed,
      copySamples: sampler.samples
    }
  } finally {
    const t0 = Date.now()
    await lc.stop()
    o.progress(`cluster stopped in ${fmtS((Date.now() - t0) / 1000)} s`)
  }
}

/**
 * A warm-up model per instance (placement spreads them: each goes where there is most room), so
 * every process has paid its first-load costs; then each is unloaded where it was loaded.
 */
const warmUp = async (xs: ReadonlyArray<LocalClusterInstance>, body: string): Promise<void> => {
  for (let i = 0; i < xs.length; i++) {
    const id = warmName(i)
    const r = await timedInfer(inferUrlOf(xs[i]!.url, id), body)
    if (r.status !== 200) throw new Error(`meshkit answered ${r.status} to the warm-up request for ${id}: ${r.text.slice(0, 300)}`)
  }
  for (let i = 0; i < xs.length; i++) {
    const id = warmName(i)
    const at = await holderOf(xs, id)
    await unload(at, id)
  }
}

/** The instance whose own status of `id` is LOADED (waits a little for a load under way). */
const holderOf = async (xs: ReadonlyArray<LocalClusterInstance>, id: string): Promise<ExecTarget> => {
  for (let k = 0; k < 100; k++) {
    for (const x of xs) {
      if (!alive(x)) continue
      const st = (await (await fetch(`${x.url}/v1/models/${encodeURIComponent(id)}`)).json()) as { status?: string }
      if (st.status === "LOADED") return { baseUrl: x.url, pid: x.child.pid ?? -1 }
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`no instance holds ${id} loaded`)
}

const replayOnCluster = async (xs: ReadonlyArray<LocalClusterInstance>, body: string, w: TraceWindow, files: ModelFiles, o: FidelityOptions): Promise<ReplayResult> => {
  const paths = w.used.map((m) => new URL(inferUrlOf(xs[0]!.url, files.nameOf.get(m)!)).pathname)
  const pathIndex = new Map(w.used.map((m, i) => [m, i]))
  const dump: string[] = o.dumpFile ? ["index,model,instance,scheduledMs,sentMs,latencyUs,status"] : []
  const real = await replay({
    host: "127.0.0.1",
    port: xs[0]!.port,
    ports: xs.map((x) => x.port),
    body,
    ...(o.dumpFile
      ? { onResponse: (i: number, sentMs: number, us: number, status: number) => dump.push(`${i},${files.nameOf.get(w.model[i]!)},${i % xs.length},${w.atMs[i]!.toFixed(3)},${sentMs.toFixed(3)},${us},${status}`) }
      : {}),
    schedule: { atMs: w.atMs, target: Int32Array.from(w.model, (m) => pathIndex.get(m)!), paths },
    onProgress: (sent, n) => o.progress(`real: ${sent}/${n} sent`)
  })
  if (o.dumpFile) writeFileSync(o.dumpFile, dump.join("\n") + "\n")
  return real
}

/**
 * Samples the copies of every model by asking each instance, all at once, for its own
 * GET /v1/models. The answers of one sample are not one instant (on a busy machine they spread
 * over tens of milliseconds, while a copy is evicted on one instance and loaded on another), so
 * a copy counts only if its instance says LOADED with `loadedAt` before the sample began: all
 * those were held at that instant. The shared copy map (the `copies` GET /v1/models lists) is no
 * such count either: an evicted copy keeps its entry until its instance drops it (its next sweep,
 * or a request it refuses as "not here"), and a copy placed meanwhile is listed beside it. Its
 * peak is reported apart (`peakListedCopies`), as the registry's lag.
 */
const sampleCopies = (urls: ReadonlyArray<string>) => {
  const peak = { copies: 0, model: null as string | null, total: 0, listed: 0 }
  let samples = 0
  let stopped = false
  const get = async (url: string) =>
    (await (await fetch(`${url}/v1/models`, { signal: AbortSignal.timeout(2000) })).json()) as { id: string; status: string; loadedAt: number | null; copies?: unknown[] }[]
  const done = (async () => {
    while (!stopped) {
      try {
        const at = Date.now()
        const answers = await Promise.all(urls.map(get))
        const held = new Map<string, number>()
        for (const models of answers)
          for (const m of models) {
            if (m.id.startsWith(AUX_PREFIX)) continue
            if (m.status === "LOADED" && m.loadedAt !== null && m.loadedAt <= at) held.set(m.id, (held.get(m.id) ?? 0) + 1)
          }
        let total = 0
        for (const [id, c] of held) {
          total += c
          if (c > peak.copies) Object.assign(peak, { copies: c, model: id })
        }
        peak.total = Math.max(peak.total, total)
        for (const m of answers[0]!) if (!m.id.startsWith(AUX_PREFIX)) peak.listed = Math.max(peak.listed, m.copies?.length ?? 0)
        samples++
      } catch {
        // a sample lost on a busy machine: the next one counts
      }
      await new Promise((r) => setTimeout(r, COPY_SAMPLE_MS))
    }
  })()
  return {
    peak,
    get samples() {
      return samples
    },
    stop: () => {
      stopped = true
    },
    done
  }
}
