import { readFileSync, writeFileSync } from "node:fs"
import { sumSamples } from "../harness/prometheus.js"
import { parseScrape } from "./metrics-read.js"
import type { CounterTimeline, ExecPoint, IsolatedLoad, ModelStatus, RealRun, SchedTimeline } from "./real-run.js"
import type { ReplayResult } from "./replay-client.js"
import type { SchedDelta } from "./schedstat.js"

/**
 * A real run kept on disk (`meshkit fidelity --record FILE`) and read back
 * (`--from-record FILE`): everything calibration and the comparison read from the real side,
 * the server's /metrics text before and after the replay included, so the simulator's model can
 * be iterated offline against the same measured run instead of a new two-minute replay each time
 * on a noisy machine.
 */

const VERSION = 1

interface RecordFile {
  readonly version: number
  readonly memoryBytes: number
  readonly replay: Omit<ReplayResult, "sentAtMs"> & { readonly sentAtMs: ReadonlyArray<number> }
  readonly statuses: ReadonlyArray<ModelStatus>
  readonly exec: ReadonlyArray<ExecPoint>
  readonly isolatedLoads?: ReadonlyArray<IsolatedLoad>
  readonly serverCpuMs?: number
  readonly replaySched?: SchedDelta
  readonly schedTimeline?: SchedTimeline
  readonly counterTimeline?: CounterTimeline
  readonly metrics: { readonly before: string; readonly after: string }
}

export const saveRun = (run: RealRun, file: string): void => {
  if (run.metricsText === undefined) throw new Error("this run kept no /metrics text: only a one-server run can be recorded")
  const { sentAtMs, ...replay } = run.replay
  const rec: RecordFile = {
    version: VERSION,
    memoryBytes: run.memoryBytes,
    replay: { ...replay, sentAtMs: Array.from(sentAtMs, (x) => Math.round(x * 1000) / 1000) },
    statuses: run.statuses,
    exec: run.exec,
    ...(run.isolatedLoads === undefined ? {} : { isolatedLoads: run.isolatedLoads }),
    ...(run.serverCpuMs === undefined ? {} : { serverCpuMs: run.serverCpuMs }),
    ...(run.replaySched === undefined ? {} : { replaySched: run.replaySched }),
    ...(run.schedTimeline === undefined ? {} : { schedTimeline: run.schedTimeline }),
    ...(run.counterTimeline === undefined ? {} : { counterTimeline: run.counterTimeline }),
    metrics: run.metricsText
  }
  writeFileSync(file, JSON.stringify(rec))
}

export const loadRun = (file: string): RealRun => {
  let rec: RecordFile
  try {
    rec = JSON.parse(readFileSync(file, "utf8")) as RecordFile
  } catch (e) {
    throw new Error(`--from-record ${file}: cannot read it as a recorded run: ${(e as Error).message}`)
  }
  if (rec.version !== VERSION || typeof rec.metrics?.before !== "string" || !Array.isArray(rec.replay?.sentAtMs)) {
    throw new Error(`--from-record ${file}: not a recorded fidelity run (version ${VERSION})`)
  }
  const before = sumSamples(rec.metrics.before)
  const after = sumSamples(rec.metrics.after)
  return {
    memoryBytes: rec.memoryBytes,
    replay: { ...rec.replay, sentAtMs: Float64Array.from(rec.replay.sentAtMs) },
    metricsDelta: (name) => (after.get(name) ?? 0) - (before.get(name) ?? 0),
    statuses: rec.statuses,
    exec: rec.exec,
    scrapes: { before: parseScrape(rec.metrics.before), after: parseScrape(rec.metrics.after) },
    metricsText: rec.metrics,
    ...(rec.isolatedLoads === undefined ? {} : { isolatedLoads: rec.isolatedLoads }),
    ...(rec.serverCpuMs === undefined ? {} : { serverCpuMs: rec.serverCpuMs }),
    ...(rec.replaySched === undefined ? {} : { replaySched: rec.replaySched }),
    ...(rec.schedTimeline === undefined ? {} : { schedTimeline: rec.schedTimeline }),
    ...(rec.counterTimeline === undefined ? {} : { counterTimeline: rec.counterTimeline })
  }
}
