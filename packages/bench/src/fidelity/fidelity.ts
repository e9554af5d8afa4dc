import { calibrate } from "./calibrate.js"
import { writeModelFiles } from "./model-files.js"
import { runOnServer } from "./real-run.js"
import { loadRun, saveRun } from "./recorded-run.js"
import { slowdownOf, slowdownSummary } from "./slowdown-of.js"
import { sameRunLevels } from "./same-run-levels.js"
import { runOnCluster, type ClusterRun } from "./cluster-run.js"
import { attribute } from "./decomposition.js"
import { realDecomposition, simDecomposition } from "./decompose-runs.js"
import { sideOf, simulateWindow, type Simulated } from "./simulate.js"
import { fmtS, KIB, MIB, ratio, sum } from "./stats.js"
import { loadWindow, type TraceWindow } from "./trace-window.js"
import type { Fitted } from "./calibrate.js"
import type { ModelFiles } from "./model-files.js"
import type { RealRun } from "./real-run.js"
import type { FidelityOptions, FidelityResult } from "./types.js"

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

export type { FidelityOptions, FidelityResult, Side, SimSide } from "./types.js"

/** The window and its model files: made once, shared by every run of a `--repeat`. */
export interface Prepared {
  readonly w: TraceWindow
  readonly files: ModelFiles
}

export const prepareFidelity = async (o: FidelityOptions): Promise<Prepared> => {
  const w = await loadWindow(o)
  o.progress(
    `${w.loaded.name}: ${w.timeMs.length} requests over ${w.used.length} models in the first ${o.minutes} trace minutes, replayed in ${fmtS(w.atMs[w.atMs.length - 1]! / 1000)} s (×${o.compress})`
  )
  const instances = o.instances ?? 1
  const files = writeModelFiles(w, instances > 1 ? { ...o, maxCopies: w.loaded.cluster.maxCopies } : o)
  o.progress(`${w.used.length} models from ${files.generated} generated files (sizes ÷ ${o.sizeScale}, ${fmtS(sum(w.used.map((m) => files.fileBytes[m]!)) / MIB)} MiB of files)`)
  return { w, files }
}

/**
 * One real run and its simulated twin, calibrated from that run alone. `runDir`: where this
 * run's server keeps its data (a fresh folder per run of a `--repeat`).
 */
export const fidelityRun = async ({ w, files }: Prepared, o: FidelityOptions, runDir = o.workDir): Promise<FidelityResult> => {
  const instances = o.instances ?? 1
  const ro = { ...o, workDir: runDir }
  if (instances > 1) {
    const run = await runOnCluster(w, files, ro, instances)
    const fit = calibrate(w.table.sizes, files, run)
    o.progress(calibrationLine(fit))
    const simulated = await simulateWindow(w, files, fit, run.memoryBytes, o, instances, run.replay.sentAtMs)
    o.progress(`simulated ${instances} instances`)
    return withCluster(resultOf(w, files, run, fit, simulated, o, run.loads), w, run, simulated)
  }
  const recorded = o.fromRecords?.[0]
  const run = recorded !== undefined ? loadRun(recorded) : await runOnServer(w, files, ro)
  if (o.recordFile !== undefined && recorded === undefined) saveRun(run, o.recordFile)
  const fitted = calibrate(w.table.sizes, files, run, o.simModel)
  const slowdown = o.slowdown !== false && run.schedTimeline !== undefined ? slowdownOf(run.schedTimeline, fitted.calibration.cpuShare) : undefined
  const measured = o.simModel === "legacy" ? undefined : sameRunLevels(fitted, run, w, files, slowdown)
  const leveled = measured?.fit ?? fitted
  const slowdownUsed = measured === undefined ? slowdown : measured.slowdown
  const fit = slowdownUsed === undefined ? leveled : { ...leveled, calibration: { ...leveled.calibration, slowdown: slowdownSummary(slowdownUsed) } }
  o.progress(calibrationLine(fit))
  const simulated = await simulateWindow(w, files, fit, run.memoryBytes, o, 1, run.replay.sentAtMs, slowdownUsed)
  return resultOf(w, files, run, fit, simulated, o)
}

export const runFidelity = async (o: FidelityOptions): Promise<FidelityResult> => fidelityRun(await prepareFidelity(o), o)

const calibrationLine = ({ calibration: c, loadedModels }: Fitted): string =>
  `calibration: load ${fmtS(c.loadFixedMs)} ms + size / ${fmtS(c.loadBytesPerSecond / MIB)} MiB/s, σ ${fmtS(c.loadSigma)}${c.loadLevel === "in-run-hold" ? " (level: the replay's measured JS-thread hold per load)" : ""}, unload holds the thread ${fmtS(c.unloadHoldMs)} ms${c.slowdown === undefined ? "" : `, slowdown over ${c.slowdown.steps} steps of ${c.slowdown.stepMs} ms ×${fmtS(c.slowdown.min)}–${fmtS(c.slowdown.max)} (median ${fmtS(c.slowdown.median)})`} (${c.loadSource === "isolated" ? `${c.loadSamples} loads timed alone; the replay's ${loadedModels.length} models' loads: ${fmtS(c.inRunLoad.loadFixedMs)} ms + size / ${fmtS(c.inRunLoad.loadBytesPerSecond / MIB)} MiB/s` : `shape of the replay's ${loadedModels.length} models' loads: ${fmtS(c.inRunLoad.loadFixedMs)} ms + size / ${fmtS(c.inRunLoad.loadBytesPerSecond / MIB)} MiB/s${c.isolatedLoad === undefined ? "" : `; ${c.isolatedSamples} loads timed alone: ${fmtS(c.isolatedLoad.loadFixedMs)} ms + size / ${fmtS(c.isolatedLoad.loadBytesPerSecond / MIB)} MiB/s`}`}), unload ${fmtS(c.unloadMs)} ms, main thread's core share in the replay ${fmtS(c.cpuShare)} (costs from ${c.costsFrom.loads} / ${c.costsFrom.exec}), levels from the replay: exec ×${fmtS(c.execLevel ?? 1)}, holds ×${fmtS(c.holdLevel ?? 1)}${c.backgroundCpuMsPerSecond === undefined ? "" : `, main-thread background ${fmtS(c.backgroundCpuMsPerSecond)} ms CPU/s (${fmtS((c.backgroundShare ?? 0) * 100)} % of its time)`}, ` +
  `exec ${fmtS(c.execMsAt1MiB)} ms at 1 MiB + ${fmtS(c.execMsPerMiB)} ms/MiB (σ ${fmtS(c.execSigma)}) + ${fmtS(c.requestOverheadMs)} ms outside, size = ${fmtS(c.sizePerFileByte)} × file + ${fmtS(c.sessionOverheadBytes / KIB)} KiB`

/** Step 6: both sides by the same definitions, where they part, and the goal. */
const resultOf = (w: TraceWindow, files: ModelFiles, run: RealRun, fit: Fitted, s: Simulated, o: FidelityOptions, loads?: number): FidelityResult => {
  const { metricsDelta, replay: real } = run
  const c = fit.calibration
  const r = s.out.result
  const realLoads = loads ?? metricsDelta("meshkit_load_duration_seconds_count")
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
  const simMeanLoad = simMeanLoadMs(fit.loadedModels.map((st) => [fit.simSizes[files.indexOf.get(st.id)!]!, st.loads] as const), c.loadFixedMs, c.loadBytesPerSecond)
  const realDec = realDecomposition(run, realLoads, realSide.coldStarts, s.execMeanMs + c.requestOverheadMs)
  const simDec = simDecomposition(r, s.out.series.latencyCdf, s.execMeanMs + c.requestOverheadMs, simMeanLoad)
  const hitRatioPoints = Math.abs(simSide.hitRatio - realSide.hitRatio) * 100
  const p99RelativeError = Math.abs(simSide.latencyUs.p99 - realSide.latencyUs.p99) / realSide.latencyUs.p99
  return {
    scenario: w.loaded.name,
    settings: {
      policy: o.policy,
      minutes: o.minutes,
      compress: o.compress,
      sizeScale: o.sizeScale,
      memoryBytes: run.memoryBytes,
      requests: w.timeMs.length,
      models: w.used.length,
      maxConcurrentLoads: w.loaded.cluster.maxConcurrentLoads,
      modelConcurrency: w.loaded.cluster.modelConcurrency,
      runtimeWorkers: o.runtimeWorkers,
      simRuntimeThreads: s.runtimeThreads
    },
    calibration: c,
    real: realSide,
    sim: simSide,
    series: { realCdf: real.cdf, simCdf: s.out.series.latencyCdf, simUnlimitedCdf: s.unlimited.series.latencyCdf },
    data: {
      loads: fit.loadPoints.map(([b, ms]) => [b, Math.round(ms * 100) / 100] as const),
      isolatedLoads: fit.isolatedPoints.map(([b, ms]) => [b, Math.round(ms * 100) / 100] as const),
      sizes: fit.resident.map((st) => [fit.fileOf(st.id), st.sizeBytes] as const),
      exec: run.exec.map((p) => ({ fileBytes: p.bytes, holdMs: p.holdMs, ...(p.threadCpuMs === undefined ? {} : { threadCpuMs: p.threadCpuMs }), idleMs: p.idleMs.map((x) => Math.round(x * 1000) / 1000) }))
    },
    simUnlimitedThreads: sideOf(s.unlimited.result),
    diagnostics: {
      realMeanLoadMs: realLoads > 0 ? (metricsDelta("meshkit_load_duration_seconds_sum") * 1000) / realLoads : 0,
      simMeanLoadMs: simMeanLoad,
      realMeanLoadingWaitMs: ratio(metricsDelta("meshkit_model_loading_wait_seconds_sum") * 1000, metricsDelta("meshkit_model_loading_wait_seconds_count")),
      simMeanLoadingWaitMs: ratio(r.coldStartSeconds * 1000, r.coldStarts),
      realMeanUnloadMs: c.unloadMs,
      realLoadHoldMs: ratio(metricsDelta("meshkit_js_thread_load_hold_seconds_total") * 1000, metricsDelta("meshkit_js_thread_load_holds_total")),
      realUnloadHoldMs: ratio(metricsDelta("meshkit_js_thread_unload_hold_seconds_total") * 1000, metricsDelta("meshkit_js_thread_unload_holds_total"))
    },
    ...(realDec === undefined
      ? {}
      : { decomposition: { real: realDec, sim: simDec, attribution: attribute(realDec, simDec, { real: ratio(realLoads, real.sent), sim: ratio(r.loads, r.requests) }) } }),
    goal: { hitRatioPoints, p99RelativeError, met: hitRatioPoints <= 2 && p99RelativeError <= 0.2 }
  }
}

/** mean calibrated load time over loads: [size in memory, number of loads] per model */
const simMeanLoadMs = (models: ReadonlyArray<readonly [number, number]>, fixedMs: number, bytesPerSecond: number) =>
  ratio(sum(models.map(([size, n]) => n * (fixedMs + (size * 1000) / bytesPerSecond))), sum(models.map(([, n]) => n)))

/**
 * The cluster figures beside the shared ones, and the cluster goal: hit ratio within 2 points,
 * loads within 10 %, p99 within 20 %. Copies cannot be compared: the simulator's result has no
 * copy counts, so only the real side's peak is reported.
 */
const withCluster = (r: FidelityResult, w: TraceWindow, run: ClusterRun, s: Simulated): FidelityResult => {
  const p = w.loaded.scenario.policies
  const simLoads = s.out.result.loads
  const loadsRelativeError = run.loads > 0 ? Math.abs(simLoads - run.loads) / run.loads : simLoads === 0 ? 0 : 1
  return {
    ...r,
    cluster: {
      instances: run.instances,
      memoryPerInstanceBytes: run.memoryBytes,
      policies: { placement: p.placement, routing: p.routing, scaling: p.scaling, maxCopies: w.loaded.cluster.maxCopies },
      real: {
        loads: run.loads,
        loadsPerInstance: run.loadsPerInstance,
        peakCopies: run.peakCopies,
        peakCopiesModel: run.peakCopiesModel,
        peakTotalCopies: run.peakTotalCopies,
        peakListedCopies: run.peakListedCopies,
        copySamples: run.copySamples
      },
      sim: { loads: simLoads, peakCopies: null },
      loadsRelativeError,
      note: "the simulator's result exposes no copy counts: copies are compared by loads only; real copies are sampled from every instance's GET /v1/models (loaded there when the sample began)"
    },
    goal: { ...r.goal, met: r.goal.met && loadsRelativeError <= 0.1 }
  }
}
