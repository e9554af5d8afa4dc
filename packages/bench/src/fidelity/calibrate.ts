import { statSync } from "node:fs"
import { join } from "node:path"
import { AUX_PREFIX, type ModelFiles } from "./model-files.js"
import type { ModelStatus, RealRun } from "./real-run.js"
import { linearFit, mean, median, quantile } from "./stats.js"
import type { FidelityResult } from "./types.js"

/**
 * Step 4: the simulator's parameters from the real run, as a user would calibrate. Sizes in
 * memory: linear in the file size, fitted to what the server measured for the models resident at
 * the end. Load time: fixed + size / bandwidth fitted to every model's last load, with the
 * lognormal spread around the fit. Unload time: the server's metrics. Execution: the time a
 * request holds the server, linear in the file size, with the lognormal spread of single-request
 * latencies, and the rest of a single request's latency as a per-request overhead.
 */

export interface Fitted {
  readonly calibration: FidelityResult["calibration"]
  /** calibrated execution time (ms) of a request on a model file of `bytes` */
  readonly execAt: (bytes: number) => number
  /** size in memory per trace model number, as the simulator gives it */
  readonly simSizes: number[]
  /** the models loaded during the replay, and the points of the load fit [sim size, last load ms] */
  readonly loadedModels: ReadonlyArray<ModelStatus>
  readonly loadPoints: ReadonlyArray<readonly [number, number]>
  /** the loads timed alone after the replay [sim size, ms] */
  readonly isolatedPoints: ReadonlyArray<readonly [number, number]>
  /** the models resident at the end, for the size fit */
  readonly resident: ReadonlyArray<ModelStatus>
  readonly fileOf: (id: string) => number
}

export const calibrate = (sizes: ReadonlyArray<number>, files: ModelFiles, run: RealRun, simModel: "holds" | "legacy" = "holds"): Fitted => {
  const replayed = run.statuses.filter((s) => !s.id.startsWith(AUX_PREFIX))
  // sizes in memory
  const resident = replayed.filter((s) => s.status === "LOADED")
  const fileOf = (id: string) => statSync(join(files.dir, `${id}.onnx`)).size
  const sizeFit = linearFit(resident.map((s) => [fileOf(s.id), s.sizeBytes] as const))
  const sizePerFileByte = sizeFit.slope > 0 ? sizeFit.slope : 2
  const sessionOverheadBytes = Math.max(0, sizeFit.slope > 0 ? sizeFit.intercept : 0)
  const simSizes = sizes.map((_, m) => Math.round(files.fileBytes[m]! * sizePerFileByte + sessionOverheadBytes))
  // load time against the size the simulator gives each model
  const loadedModels = replayed.filter((s) => s.loads > 0 && s.lastLoadMs !== null)
  const loadPoints = loadedModels.map((s) => [simSizes[files.indexOf.get(s.id)!]!, s.lastLoadMs!] as const)
  const inRun = loadModel(loadPoints)
  // The share of a core the server's main thread got during the replay (schedstat): on a shared
  // machine its work took 1 / share times its CPU time there, so CPU costs measured afterwards
  // (loads alone, execution) are stretched by it to what they held the thread for in the replay.
  const cpuShare = Math.min(1, Math.max(0.05, run.replaySched?.share ?? 1))
  const isolated = run.isolatedLoads ?? []
  const loadsByCpu = isolated.length > 0 && isolated.every((l) => l.threadCpuMs !== undefined && l.threadCpuMs > 0)
  const isolatedPoints = isolated.map((l) => [Math.round(l.bytes * sizePerFileByte + sessionOverheadBytes), loadsByCpu ? l.threadCpuMs! / cpuShare : l.wallMs] as const)
  // The level: the server's own measure of how long the synchronous part of its loads held the
  // JS thread in the replay (meshkit_js_thread_load_hold_seconds_total), which is what a load
  // holds the simulator's runtime thread for.
  const loadHolds = run.metricsDelta("meshkit_js_thread_load_holds_total")
  const holdMeanMs = loadHolds > 0 ? (run.metricsDelta("meshkit_js_thread_load_hold_seconds_total") * 1000) / loadHolds : 0
  const loadsPerModel = loadedModels.map((st) => [simSizes[files.indexOf.get(st.id)!]!, st.loads] as const)
  const byHold = simModel === "holds" && holdMeanMs > 0
  let load: { loadFixedMs: number; loadBytesPerSecond: number; loadSigma: number }
  let source: "isolated" | "in-run"
  if (byHold && loadPoints.length >= MIN_LOADS) {
    // The shape from the replay's own loads: the loads timed alone after it cost a large model
    // much less than it cost in the replay (measured: 1,942 against 781 MiB/s on one run), where
    // memory churns and pages freed by trims are faulted in again; the simulator fed that flatter
    // shape underestimated the p99 in 6 of 10 recorded runs, the in-run shape in 2. A replayed
    // load's time is its wait for the event loop plus its hold; the wait does not grow with the
    // model, so the fixed part is lowered until the mean over the replay's loads is the measured
    // hold (scaled instead when that would go below 0). The spread stays the in-run one: under
    // contention real loads vary far more than loads timed alone.
    const meanMs = meanOverLoads(loadsPerModel, inRun.loadFixedMs, inRun.loadBytesPerSecond)
    const fixed = inRun.loadFixedMs - (meanMs - holdMeanMs)
    const k = meanMs > 0 ? holdMeanMs / meanMs : 1
    load = fixed >= 0 ? { ...inRun, loadFixedMs: fixed } : { loadFixedMs: inRun.loadFixedMs * k, loadBytesPerSecond: inRun.loadBytesPerSecond / k, loadSigma: inRun.loadSigma }
    source = "in-run"
  } else {
    // The loads timed alone after the replay, when there are enough of them (one server): the
    // replay's own loads include their wait for the event loop, which the simulator adds itself
    // (real-run.ts, measureLoads); scaled to the measured hold when there is one.
    const useIsolated = isolatedPoints.length >= MIN_LOADS
    const shape = useIsolated ? loadModel(isolatedPoints) : inRun
    const shapeMeanMs = meanOverLoads(loadsPerModel, shape.loadFixedMs, shape.loadBytesPerSecond)
    const k = byHold && shapeMeanMs > 0 ? holdMeanMs / shapeMeanMs : 1
    load = { loadFixedMs: shape.loadFixedMs * k, loadBytesPerSecond: shape.loadBytesPerSecond / k, loadSigma: shape.loadSigma }
    source = useIsolated ? "isolated" : "in-run"
  }
  const { loadFixedMs, loadBytesPerSecond, loadSigma } = load
  // what an unload holds the JS thread for (session release), from the same replay
  const unloadHolds = run.metricsDelta("meshkit_js_thread_unload_holds_total")
  const unloadHoldMs = simModel === "holds" && unloadHolds > 0 ? (run.metricsDelta("meshkit_js_thread_unload_hold_seconds_total") * 1000) / unloadHolds : 0
  const unloads = run.metricsDelta("meshkit_unload_duration_seconds_count")
  const unloadMs = unloads > 0 ? (run.metricsDelta("meshkit_unload_duration_seconds_sum") * 1000) / unloads : 0
  // execution
  // what a request holds the main thread for: its CPU time there (schedstat) when readable, else
  // the process's CPU time per request
  const execByThread = run.exec.length > 0 && run.exec.every((p) => p.threadCpuMs !== undefined && p.threadCpuMs > 0)
  const holds = run.exec.map((p) => [p.bytes, execByThread ? p.threadCpuMs! : p.holdMs] as const)
  const execFit = linearFit(holds)
  const execSlope = Math.max(0, execFit.slope)
  const execIntercept = execFit.slope >= 0 ? execFit.intercept : mean(holds.map(([, ms]) => ms))
  const execCpuAt = (bytes: number) => Math.max(0.01, execIntercept + execSlope * bytes)
  const execAt = (bytes: number) => execCpuAt(bytes) / cpuShare
  const ratios = run.exec.flatMap((p) => {
    const m = median(p.idleMs)
    return p.idleMs.map((x) => Math.log(x / m))
  })
  const execSigma = Math.max(0, quantile(ratios, 0.9) / 1.2816)
  // single-request latency (after the replay) − its CPU cost then: the time outside the runtime
  const requestOverheadMs = Math.max(0, median(run.exec.map((p) => median(p.idleMs) - execCpuAt(p.bytes))))
  const MIB = 1024 ** 2
  return {
    calibration: {
      loadFixedMs,
      loadBytesPerSecond,
      loadSamples: source === "isolated" ? isolatedPoints.length : loadedModels.length,
      loadSigma,
      loadSource: source,
      loadLevel: byHold ? "in-run-hold" : "fit",
      unloadHoldMs,
      inRunLoad: inRun,
      ...(isolatedPoints.length >= MIN_LOADS ? { isolatedLoad: loadModel(isolatedPoints), isolatedSamples: isolatedPoints.length } : {}),
      unloadMs,
      execMsAt1MiB: execAt(MIB),
      execMsPerMiB: (execSlope * MIB) / cpuShare,
      cpuShare,
      costsFrom: { loads: source === "isolated" ? (loadsByCpu ? "thread-cpu" : "wall") : "in-run-wall", exec: execByThread ? "thread-cpu" : "process-cpu" },
      execSigma,
      requestOverheadMs,
      sizePerFileByte,
      sessionOverheadBytes
    },
    execAt,
    simSizes,
    loadedModels,
    loadPoints,
    isolatedPoints,
    resident,
    fileOf
  }
}

/** fewer loads than this are too few to fit a load model to */
const MIN_LOADS = 10

/** mean of fixed + size / bandwidth over loads: [size in memory, number of loads] per model */
export const meanOverLoads = (models: ReadonlyArray<readonly [number, number]>, fixedMs: number, bytesPerSecond: number): number => {
  let s = 0
  let n = 0
  for (const [size, loads] of models) {
    s += loads * (fixedMs + (size * 1000) / bytesPerSecond)
    n += loads
  }
  return n > 0 ? s / n : 0
}

/**
 * load time = fixed + size / bandwidth, least squares over [size, ms] points, with the lognormal
 * spread around the fit (robust: from the 10th and 90th percentiles of log(real / fitted))
 */
const loadModel = (points: ReadonlyArray<readonly [number, number]>): { loadFixedMs: number; loadBytesPerSecond: number; loadSigma: number } => {
  const fit = linearFit(points)
  const loadFixedMs = Math.max(0, fit.slope > 0 ? fit.intercept : mean(points.map(([, ms]) => ms)))
  const loadBytesPerSecond = fit.slope > 0 ? 1000 / fit.slope : 1e15
  const logRatios = points.map(([b, ms]) => Math.log(Math.max(0.01, ms) / Math.max(0.01, loadFixedMs + (b * 1000) / loadBytesPerSecond)))
  const loadSigma = logRatios.length >= 10 ? Math.max(0, (quantile(logRatios, 0.9) - quantile(logRatios, 0.1)) / 2.563) : 0
  return { loadFixedMs, loadBytesPerSecond, loadSigma }
}
