import type { SimConfig } from "../engine/config.js"
import { simulate } from "../engine/simulate.js"
import type { RunOutput } from "../metrics/result.js"
import { openTrace, type Trace, type TraceSource } from "../trace/index.js"

/** One simulation: a trace source (re-opened wherever the job runs) and a configuration. */
export interface Job {
  readonly source: TraceSource
  readonly config: SimConfig
}

export const runJob = (job: Job, onProgress?: (requests: number) => void, trace?: Trace): Promise<RunOutput> =>
  simulate(trace ?? openTrace(job.source), job.config, onProgress ? { onProgress } : {})

/** Messages between the pool and its workers. */
export type ToWorker = { readonly type: "job"; readonly index: number; readonly job: Job }
export type FromWorker =
  | { readonly type: "progress"; readonly index: number; readonly requests: number }
  | { readonly type: "done"; readonly index: number; readonly output: RunOutput }
  | { readonly type: "error"; readonly index: number; readonly message: string; readonly tag?: string; readonly stack?: string }
