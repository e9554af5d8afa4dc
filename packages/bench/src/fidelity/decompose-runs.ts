import type { PolicyResult } from "@meshkit/sim"
import { cdfMean, type Decomposition } from "./decomposition.js"
import { histogramDelta, histogramMean, type Scrape } from "./metrics-read.js"
import type { RealRun } from "./real-run.js"
import { ratio } from "./stats.js"

/** The decomposition of each side from what it measured (see decomposition.ts for the definitions). */

const S = 1000

/** `serviceMs`: the calibrated execution + overhead per request (what the simulator is given) */
export const realDecomposition = (run: RealRun, loads: number, coldStarts: number, serviceMs: number): Decomposition | undefined => {
  const sc = run.scrapes
  if (sc === undefined) return undefined
  const { before, after } = sc
  const r = run.replay
  const duration = histogramDelta(before, after, "meshkit_request_duration_seconds")
  const loadingWait = histogramDelta(before, after, "meshkit_model_loading_wait_seconds")
  const slotQueue = histogramDelta(before, after, "meshkit_request_queue_delay_seconds")
  const loadDuration = histogramDelta(before, after, "meshkit_load_duration_seconds")
  const meanMs = cdfMean(r.cdf) / 1000
  const serverMeanMs = histogramMean(duration) * S
  return {
    requests: r.sent,
    coldStarts,
    coldShare: ratio(coldStarts, r.sent),
    p99Ms: r.latencyUs.p99 / 1000,
    meanMs,
    loadWaitPerColdMs: histogramMean(loadingWait) * S,
    loadMs: loads > 0 ? histogramMean(loadDuration) * S : 0,
    waitMs: Math.max(0, meanMs - ratio(loadingWait.sum * S, r.sent) - serviceMs),
    serviceMs,
    inServerMs: ratio((duration.sum - loadingWait.sum) * S, duration.count),
    outsideMs: Math.max(0, meanMs - serverMeanMs),
    slotQueueMs: ratio(slotQueue.sum * S, r.sent),
    eventLoopP99Ms: gauge(after, "meshkit_nodejs_eventloop_lag_p99_seconds") * S,
    sendLagP99Ms: r.sendLagMs.p99
  }
}

const gauge = (s: Scrape, name: string) => s.values.get(name) ?? 0

export const simDecomposition = (
  r: PolicyResult,
  cdf: ReadonlyArray<readonly [number, number]>,
  serviceMs: number,
  meanLoadMs: number
): Decomposition => {
  const meanMs = cdfMean(cdf) / 1000
  return {
    requests: r.requests,
    coldStarts: r.coldStarts,
    coldShare: ratio(r.coldStarts, r.requests),
    p99Ms: r.latencyUs.p99 / 1000,
    meanMs,
    loadWaitPerColdMs: ratio(r.coldStartSeconds * S, r.coldStarts),
    loadMs: meanLoadMs,
    waitMs: Math.max(0, meanMs - ratio(r.coldStartSeconds * S, r.requests) - serviceMs),
    serviceMs
  }
}
