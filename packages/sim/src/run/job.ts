import type { SimConfig } from "../engine/config.js"
import { simulate } from "../engine/simulate.js"
import type { RunOutput } from "../metrics/result.js"
import { arrayTrace } from "../engine/array-trace.js"
import { materialize, openTrace, type Trace, type TraceSource } from "../trace/index.js"

/** One simulation: a trace source (re-opened wherever the job runs) and a configuration. */
export interface Job {
  readonly source: TraceSource
  readonly config: SimConfig
}

export const runJob = async (job: Job, onProgress?: (requests: number) => void, trace?: Trace): Promise<RunOutput> =>
  simulate(trace ?? (await reusableTrace(job.source)), job.config, onProgress ? { onProgress } : {})

/** Generated traces up to this many requests are kept in memory (28 bytes each) between jobs. */
const KEEP_GENERATED_REQUESTS = 5_000_000
const kept = new Map<string, Promise<Trace>>()

/**
 * The trace for a job. A generated trace is deterministic but costs as much to regenerate as to
 * simulate, so a small one (≤ 5 M requests by its options) is generated once per thread and
 * replayed from memory; every other source streams afresh, keeping memory bounded by models.
 */
export const reusableTrace = (source: TraceSource): Promise<Trace> => {
  const parts = source.generate ? [source.generate] : source.mix
  if (parts === undefined) return Promise.resolve(openTrace(source))
  let expected = 0
  for (const g of parts) {
    const byRate = (g.rate ?? 100) * ((g.durationMs ?? (g.requests === undefined ? 3_600_000 : Infinity)) / 1000)
    expected += Math.min(g.requests ?? Infinity, byRate)
  }
  if (expected > KEEP_GENERATED_REQUESTS) return Promise.resolve(openTrace(source))
  const key = JSON.stringify(source)
  let t = kept.get(key)
  if (!t) {
    t = (async () => {
      const live = openTrace(source)
      const m = await materialize(live)
      return arrayTrace(live.name, live.models, m.timeMs, m.model, m.execMs)
    })()
    kept.set(key, t)
    t.catch(() => kept.delete(key))
  }
  return t
}

/** Messages between the pool and its workers. */
export type ToWorker = { readonly type: "job"; readonly index: number; readonly job: Job }
export type FromWorker =
  | { readonly type: "progress"; readonly index: number; readonly requests: number }
  | { readonly type: "done"; readonly index: number; readonly output: RunOutput }
  | { readonly type: "error"; readonly index: number; readonly message: string; readonly tag?: string; readonly stack?: string }
