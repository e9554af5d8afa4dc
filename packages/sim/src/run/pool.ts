import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import type { RunOutput } from "../metrics/result.js"
import type { Trace } from "../trace/index.js"
import { reusableTrace, runJob, type FromWorker, type Job } from "./job.js"
import type { RunTracker } from "./tracker.js"

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
 * Worker threads that stay up between jobs, so a caller that decides its next simulation from the
 * last one (the planner's bisection) keeps each worker's cached trace and start-up paid once.
 * `run` may be called any number of times concurrently; jobs queue for the next free worker.
 */
export interface JobPool {
  readonly workers: number
  run(job: Job, label: string): Promise<RunOutput>
  /** terminates the workers; jobs not yet finished reject */
  close(): Promise<void>
}

export interface JobPoolOptions {
  /** worker threads; 0 or 1 runs every job in this thread, one at a time. Default: available cores. */
  readonly workers?: number
  readonly tracker?: RunTracker
}

interface Task {
  readonly job: Job
  readonly label: string
  readonly resolve: (o: RunOutput) => void
  readonly reject: (e: Error) => void
  id?: number
}

export const jobPool = (opts: JobPoolOptions = {}): JobPool => {
  const n = opts.workers ?? availableParallelism()
  return n <= 1 ? inThreadPool(opts.tracker) : workerPool(n, opts.tracker)
}

/** Jobs one after another in this thread; jobs on the same source share one Trace (it restarts per chunks() call). */
const inThreadPool = (tracker: RunTracker | undefined): JobPool => {
  const traces = new Map<string, Promise<Trace>>()
  let chain: Promise<unknown> = Promise.resolve()
  let closed = false
  return {
    workers: 0,
    run(job, label) {
      const result = chain.then(async () => {
        if (closed) throw new Error("the simulation pool is closed")
        const key = JSON.stringify(job.source)
        let trace = traces.get(key)
        if (!trace) traces.set(key, (trace = reusableTrace(job.source)))
        const t = await trace
        const id = tracker?.start(label)
        try {
          const o = await runJob(job, id === undefined ? undefined : (k) => tracker?.progress(id, k), t)
          if (id !== undefined) tracker?.finish(id, o.result.requests)
          return o
        } catch (e) {
          if (id !== undefined) tracker?.drop(id)
          throw e
        }
      })
      chain = result.catch(() => undefined)
      return result
    },
    async close() {
      closed = true
    }
  }
}

const WORKER_ENTRY = new URL("./worker-boot.mjs", import.meta.url)

const workerPool = (n: number, tracker: RunTracker | undefined): JobPool => {
  const queue: Task[] = []
  const idle: Worker[] = []
  const busy = new Map<Worker, Task>()
  const all: Worker[] = []
  let broken: Error | undefined
  let closed = false

  const rejectAll = (e: Error) => {
    for (const t of queue.splice(0)) t.reject(e)
    for (const [, t] of busy) {
      if (t.id !== undefined) tracker?.drop(t.id)
      t.reject(e)
    }
    busy.clear()
  }
  const pump = () => {
    while (idle.length > 0 && queue.length > 0) {
      const w = idle.pop()!
      const t = queue.shift()!
      t.id = tracker?.start(t.label)
      busy.set(w, t)
      w.postMessage({ type: "job", index: 0, job: t.job })
    }
  }
  const spawn = () => {
    const w = new Worker(WORKER_ENTRY)
    all.push(w)
    w.on("message", (m: FromWorker) => {
      const t = busy.get(w)
      if (t === undefined) return
      if (m.type === "progress") {
        if (t.id !== undefined) tracker?.progress(t.id, m.requests)
        return
      }
      busy.delete(w)
      if (m.type === "error") {
        if (t.id !== undefined) tracker?.drop(t.id)
        t.reject(new JobError(m.message, m.tag ?? "SimulationError"))
      } else {
        if (t.id !== undefined) tracker?.finish(t.id, m.output.result.requests)
        t.resolve(m.output)
      }
      idle.push(w)
      pump()
    })
    w.on("error", (e) => {
      broken ??= e
      rejectAll(e)
    })
    w.on("exit", (code) => {
      if (closed) return
      const e = new Error(`simulation worker exited with code ${code}`)
      broken ??= e
      rejectAll(e)
    })
    idle.push(w)
  }
  // Workers start when the first job arrives, and no more of them than jobs asked for so far.
  const grow = () => {
    if (all.length < n && idle.length === 0) spawn()
  }
  return {
    workers: n,
    run(job, label) {
      if (closed) return Promise.reject(new Error("the simulation pool is closed"))
      if (broken) return Promise.reject(broken)
      return new Promise<RunOutput>((resolve, reject) => {
        queue.push({ job, label, resolve, reject })
        grow()
        pump()
      })
    },
    async close() {
      if (closed) return
      closed = true
      rejectAll(new Error("the simulation pool is closed"))
      await Promise.all(all.map((w) => w.terminate()))
    }
  }
}
