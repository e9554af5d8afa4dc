import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import type { RunOutput } from "../metrics/result.js"
import type { Trace } from "../trace/index.js"
import { reusableTrace, runJob, type FromWorker, type Job } from "./job.js"
import type { ProgressState } from "./progress.js"

export interface RunJobsOptions {
  /** worker threads; 0 runs every job in this thread. Default: min(jobs, available cores). */
  readonly workers?: number
  /** a short name per job for the progress line */
  readonly labels?: readonly string[]
  readonly onProgress?: (s: ProgressState) => void
}

/** A job failed; `_tag` carries the original error's tag (TraceError...) so the CLI prints just the message. */
export class JobError extends Error {
  constructor(
    message: string,
    readonly _tag: string
  ) {
    super(message)
  }
}

/**
 * Runs the jobs, in worker threads when there is more than one job and more than one worker
 * (each worker streams its own copy of the trace: nothing big crosses threads). Results come
 * back in job order, so output is deterministic whatever the scheduling.
 */
export const runJobs = async (jobs: readonly Job[], opts: RunJobsOptions = {}): Promise<RunOutput[]> => {
  const workers = Math.min(jobs.length, opts.workers ?? availableParallelism())
  const tracker = new Tracker(jobs.length, opts)
  return workers <= 1 ? runHere(jobs, tracker) : runInWorkers(jobs, workers, tracker)
}

class Tracker {
  private readonly requests: number[]
  private readonly running = new Set<number>()
  private done = 0
  constructor(
    private readonly total: number,
    private readonly opts: RunJobsOptions
  ) {
    this.requests = new Array(total).fill(0)
  }
  start(i: number) {
    this.running.add(i)
    this.emit()
  }
  progress(i: number, n: number) {
    this.requests[i] = n
    this.emit()
  }
  finish(i: number, n: number) {
    this.requests[i] = n
    this.running.delete(i)
    this.done++
    this.emit()
  }
  private emit() {
    if (!this.opts.onProgress) return
    this.opts.onProgress({
      done: this.done,
      total: this.total,
      requests: this.requests.reduce((a, b) => a + b, 0),
      running: [...this.running].map((i) => this.opts.labels?.[i] ?? `#${i + 1}`)
    })
  }
}

const runHere = async (jobs: readonly Job[], tracker: Tracker): Promise<RunOutput[]> => {
  // Jobs on the same source share one Trace (it restarts on every chunks() call).
  const traces = new Map<string, Trace>()
  const out: RunOutput[] = []
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!
    const key = JSON.stringify(job.source)
    let trace = traces.get(key)
    if (!trace) traces.set(key, (trace = await reusableTrace(job.source)))
    tracker.start(i)
    const o = await runJob(job, (n) => tracker.progress(i, n), trace)
    tracker.finish(i, o.result.requests)
    out.push(o)
  }
  return out
}

const WORKER_ENTRY = new URL("./worker-boot.mjs", import.meta.url)

const runInWorkers = (jobs: readonly Job[], n: number, tracker: Tracker): Promise<RunOutput[]> =>
  new Promise((resolvePromise, reject) => {
    const results: RunOutput[] = new Array(jobs.length)
    const pool: Worker[] = []
    let next = 0
    let finished = 0
    let failed = false
    const stop = () => {
      for (const w of pool) void w.terminate()
    }
    const fail = (e: Error) => {
      if (failed) return
      failed = true
      stop()
      reject(e)
    }
    const feed = (w: Worker) => {
      if (next >= jobs.length) return
      const index = next++
      tracker.start(index)
      w.postMessage({ type: "job", index, job: jobs[index]! })
    }
    for (let k = 0; k < n; k++) {
      const w = new Worker(WORKER_ENTRY)
      pool.push(w)
      w.on("message", (m: FromWorker) => {
        if (failed) return
        if (m.type === "progress") tracker.progress(m.index, m.requests)
        else if (m.type === "error") fail(new JobError(m.message, m.tag ?? "SimulationError"))
        else {
          results[m.index] = m.output
          tracker.finish(m.index, m.output.result.requests)
          if (++finished === jobs.length) {
            stop()
            resolvePromise(results)
          } else feed(w)
        }
      })
      w.on("error", (e) => fail(e))
      w.on("exit", (code) => {
        if (!failed && finished < jobs.length && code !== 0) fail(new Error(`simulation worker exited with code ${code}`))
      })
      feed(w)
    }
  })
