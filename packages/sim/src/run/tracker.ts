import type { ProgressState } from "./progress.js"

/**
 * Counts runs and simulated requests for ONE progress line over any number of runs, including a
 * total that is only an estimate and changes as the work goes (the planner prunes as it learns).
 * The fraction done counts running jobs by their requests against the requests one run takes
 * (known once a run finishes, or told up front), so the time estimate moves during long runs.
 */
export class RunTracker {
  private readonly requests = new Map<number, number>()
  private readonly running = new Map<number, string>()
  private doneRequests = 0
  private done = 0
  private nextId = 0
  private total: number
  private estimated = false
  private perRun: number | undefined

  constructor(
    total: number,
    private readonly onProgress?: (s: ProgressState) => void,
    requestsPerRun?: number
  ) {
    this.total = total
    this.perRun = requestsPerRun !== undefined && requestsPerRun > 0 ? requestsPerRun : undefined
  }

  /** The expected number of runs (estimated: shown with "~"); never below what is done and running. */
  plan(total: number, estimated: boolean): void {
    this.total = Math.max(total, this.done + this.running.size)
    this.estimated = estimated
    this.emit()
  }

  start(label: string): number {
    const id = this.nextId++
    this.running.set(id, label)
    this.requests.set(id, 0)
    this.emit()
    return id
  }

  progress(id: number, requests: number): void {
    if (!this.running.has(id)) return
    this.requests.set(id, requests)
    this.emit()
  }

  finish(id: number, requests: number): void {
    if (!this.running.delete(id)) return
    this.requests.delete(id)
    this.doneRequests += requests
    this.done++
    this.perRun ??= requests > 0 ? requests : undefined
    if (this.done > this.total) this.total = this.done
    this.emit()
  }

  /** A run that failed: it leaves the running list without counting as done. */
  drop(id: number): void {
    if (!this.running.delete(id)) return
    this.requests.delete(id)
    this.emit()
  }

  state(): ProgressState {
    let live = 0
    let partial = 0
    for (const n of this.requests.values()) {
      live += n
      if (this.perRun !== undefined) partial += Math.min(1, n / this.perRun)
    }
    const total = Math.max(this.total, this.done + this.running.size)
    return {
      done: this.done,
      total,
      requests: this.doneRequests + live,
      running: [...this.running.values()],
      fraction: total > 0 ? Math.min(1, (this.done + partial) / total) : 1,
      ...(this.estimated ? { estimatedTotal: true } : {})
    }
  }

  private emit(): void {
    this.onProgress?.(this.state())
  }
}
