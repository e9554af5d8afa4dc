import { availableParallelism } from "node:os"
import type { RunOutput } from "../metrics/result.js"
import type { Job } from "./job.js"
import { jobPool } from "./pool.js"
import type { ProgressState } from "./progress.js"
import { RunTracker } from "./tracker.js"

export { JobError } from "./pool.js"

export interface RunJobsOptions {
  /** worker threads; 0 runs every job in this thread. Default: min(jobs, available cores). */
  readonly workers?: number
  /** a short name per job for the progress line */
  readonly labels?: readonly string[]
  /** requests one run replays, when known up front: the time estimate is then right from the start */
  readonly requestsPerRun?: number
  readonly onProgress?: (s: ProgressState) => void
}

/**
 * Runs the jobs, in worker threads when there is more than one job and more than one worker
 * (each worker streams its own copy of the trace: nothing big crosses threads), all counted on
 * one progress line. Results come back in job order, so output is deterministic whatever the
 * scheduling; the first failure stops the rest.
 */
export const runJobs = async (jobs: readonly Job[], opts: RunJobsOptions = {}): Promise<RunOutput[]> => {
  const workers = Math.min(jobs.length, opts.workers ?? availableParallelism())
  const tracker = new RunTracker(jobs.length, opts.onProgress, opts.requestsPerRun)
  const pool = jobPool({ workers, tracker })
  try {
    return await Promise.all(jobs.map((job, i) => pool.run(job, opts.labels?.[i] ?? `#${i + 1}`)))
  } finally {
    await pool.close()
  }
}
