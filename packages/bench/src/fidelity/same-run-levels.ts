import type { SlowdownConfig } from "@meshkit/sim"
import type { Fitted } from "./calibrate.js"
import type { ModelFiles } from "./model-files.js"
import type { RealRun, SchedTimeline } from "./real-run.js"
import type { TraceWindow } from "./trace-window.js"

/**
 * The levels of the simulator's costs from the replay itself (what the main thread really spent
 * there), keeping the shapes fitted to the measurements taken after it:
 *
 *  - execution: the main thread's CPU time over the replay (schedstat), less what the loads and
 *    unloads held it for, is what the requests cost it. Measured after the replay under 8
 *    connections a request costs less (the event loop's per-wake-up work is shared by several
 *    requests there; in the replay, most requests arrive alone, and misses cost the request path
 *    more), so the execution fit is scaled by (that CPU) ÷ (the fit's CPU over the replay's requests).
 *  - loads, with a slowdown: the measured hold per load is wall time at the share of a core the
 *    thread had when the loads ran, and the slowdown stretches them again at their step; so the
 *    level is divided by the slowdown's mean factor over (an estimate of) when the loads ran: each
 *    replayed model's first request (its first load), the other loads spread evenly over the run.
 */

export interface SameRunLevels {
  readonly fit: Fitted
  /** the slowdown with the main thread's background work folded in (see backgroundOf) */
  readonly slowdown: SlowdownConfig | undefined
  /** factor applied to the execution fit (1: unchanged) */
  readonly execLevel: number
  /** factor applied to the load and unload hold levels for the slowdown (1: unchanged) */
  readonly holdLevel: number
}

const EXEC_LEVEL_RANGE = [0.5, 4] as const

export const sameRunLevels = (fit: Fitted, run: RealRun, w: TraceWindow, files: ModelFiles, slowdown: SlowdownConfig | undefined): SameRunLevels => {
  const c = fit.calibration
  const share = c.cpuShare
  const threadCpuMs = run.replaySched?.cpuMs
  const holdsWallMs = (run.metricsDelta("meshkit_js_thread_load_hold_seconds_total") + run.metricsDelta("meshkit_js_thread_unload_hold_seconds_total")) * 1000
  let execCpuMs = 0
  for (let i = 0; i < w.model.length; i++) execCpuMs += fit.execAt(files.fileBytes[w.model[i]!]!) * share
  const bg = slowdown !== undefined && run.schedTimeline !== undefined && c.loadLevel === "in-run-hold" ? backgroundOf(run.schedTimeline, run.replay.sentAtMs, w.model) : undefined
  const raw =
    bg !== undefined && execCpuMs > 0
      ? (bg.perRequestCpuMs * w.model.length) / execCpuMs
      : threadCpuMs !== undefined && threadCpuMs > 0 && execCpuMs > 0 && c.loadLevel === "in-run-hold"
        ? (threadCpuMs - holdsWallMs * share) / execCpuMs
        : 1
  const execLevel = Math.min(EXEC_LEVEL_RANGE[1], Math.max(EXEC_LEVEL_RANGE[0], raw))
  const holdLevel = slowdown !== undefined && c.loadLevel === "in-run-hold" ? 1 / meanFactorAtLoads(slowdown, w, run) : 1
  // the background's share of the thread's wall time: the work the requests and loads get is
  // what is left, so everything is stretched by 1 / (1 − that share)
  const busy = bg === undefined ? 0 : Math.min(0.8, Math.max(0, bg.cpuMsPerSecond / 1000 / share))
  const withBackground = slowdown === undefined || busy === 0 ? slowdown : { stepMs: slowdown.stepMs, factors: slowdown.factors.map((f) => f / (1 - busy)) }
  const calibration = {
    ...c,
    execMsAt1MiB: c.execMsAt1MiB * execLevel,
    execMsPerMiB: c.execMsPerMiB * execLevel,
    loadFixedMs: c.loadFixedMs * holdLevel,
    loadBytesPerSecond: c.loadBytesPerSecond / holdLevel,
    unloadHoldMs: c.unloadHoldMs * holdLevel,
    execLevel,
    holdLevel,
    ...(bg === undefined ? {} : { backgroundCpuMsPerSecond: bg.cpuMsPerSecond, backgroundShare: busy })
  }
  return { fit: { ...fit, calibration, execAt: (b) => fit.execAt(b) * execLevel }, slowdown: withBackground, execLevel, holdLevel }
}

/**
 * The main thread's CPU per second of the replay, fitted by least squares over 1-second steps as
 * background + per request × requests sent in the step + per load × models first requested in
 * it (a first load): the background is what the thread spends whatever the traffic (timers,
 * metrics, GC), the per-request figure what a request costs it in the replay. Undefined when
 * the fit is degenerate (a negative term, too few steps).
 */
export const backgroundOf = (
  t: SchedTimeline,
  /** when each request was sent, ms from the replay's start, and its model */
  at: ArrayLike<number>,
  model: ArrayLike<number>
): { readonly cpuMsPerSecond: number; readonly perRequestCpuMs: number; readonly perFirstLoadCpuMs: number } | undefined => {
  const per = Math.max(1, Math.round(1000 / t.stepMs))
  const n = Math.floor(t.cpuMs.length / per)
  if (n < 10) return undefined
  const req = new Float64Array(n)
  const first = new Float64Array(n)
  const cpu = new Float64Array(n)
  const seen = new Set<number>()
  for (let i = 0; i < model.length; i++) {
    const j = Math.floor(at[i]! / (t.stepMs * per))
    if (j < 0 || j >= n) continue
    req[j]!++
    if (!seen.has(model[i]!)) {
      seen.add(model[i]!)
      first[j]!++
    }
  }
  for (let j = 0; j < n; j++) for (let k = 0; k < per; k++) cpu[j]! += t.cpuMs[j * per + k]!
  const x = solve3(n, (j) => [1, req[j]!, first[j]!], (j) => cpu[j]!)
  if (x === undefined || x[0] < 0 || x[1] <= 0 || x[2] < 0) return undefined
  return { cpuMsPerSecond: (x[0] * 1000) / (t.stepMs * per), perRequestCpuMs: x[1], perFirstLoadCpuMs: x[2] }
}

/** least squares of y on three regressors (normal equations, Gauss–Jordan with pivoting) */
const solve3 = (n: number, row: (j: number) => [number, number, number], y: (j: number) => number): [number, number, number] | undefined => {
  const m = [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0]
  ]
  for (let j = 0; j < n; j++) {
    const r = row(j)
    for (let p = 0; p < 3; p++) {
      m[p]![3]! += r[p]! * y(j)
      for (let q = 0; q < 3; q++) m[p]![q]! += r[p]! * r[q]!
    }
  }
  for (let i = 0; i < 3; i++) {
    let p = i
    for (let k = i + 1; k < 3; k++) if (Math.abs(m[k]![i]!) > Math.abs(m[p]![i]!)) p = k
    ;[m[i], m[p]] = [m[p]!, m[i]!]
    if (Math.abs(m[i]![i]!) < 1e-12) return undefined
    for (let k = 0; k < 3; k++) {
      if (k === i) continue
      const f = m[k]![i]! / m[i]![i]!
      for (let c = i; c < 4; c++) m[k]![c]! -= f * m[i]![c]!
    }
  }
  return [m[0]![3]! / m[0]![0]!, m[1]![3]! / m[1]![1]!, m[2]![3]! / m[2]![2]!]
}

const meanFactorAtLoads = (s: SlowdownConfig, w: TraceWindow, run: RealRun): number => {
  const at = run.replay.sentAtMs
  const f = (t: number) => s.factors[Math.min(s.factors.length - 1, Math.max(0, Math.floor(t / s.stepMs)))]!
  const seen = new Set<number>()
  let sum = 0
  let n = 0
  for (let i = 0; i < w.model.length; i++) {
    if (seen.has(w.model[i]!)) continue
    seen.add(w.model[i]!)
    sum += f(at[i]!)
    n++
  }
  const loads = run.metricsDelta("meshkit_js_thread_load_holds_total")
  const rest = Math.max(0, loads - n)
  if (rest > 0) {
    let all = 0
    for (const x of s.factors) all += x
    sum += (rest * all) / s.factors.length
    n += rest
  }
  return n > 0 && sum > 0 ? sum / n : 1
}
