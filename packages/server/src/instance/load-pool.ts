import { Unavailable } from "../errors.js"

/**
 * A bounded pool for model loads (ModelMesh's maxLoadingConcurrency): at most `concurrency`
 * tasks run at once; the rest wait in two FIFO queues, loads that a request is waiting on
 * ("urgent") before background loads (loadNow registrations, pre-loads). A background load that
 * a request starts waiting on is promoted. The queue is bounded: beyond `maxQueued` waiting
 * loads, `run` fails at once with Unavailable instead of piling up work.
 * Inside each queue a higher `priority` (the model's tenant's, from the tenants file) goes
 * first; equal priorities keep their arrival order.
 */
interface Job {
  readonly key: string
  urgent: boolean
  readonly priority: number
  readonly start: () => void
}

export class LoadPool {
  private running = 0
  private readonly urgent: Job[] = []
  private readonly background: Job[] = []
  private readonly byKey = new Map<string, Job>()

  constructor(
    private readonly concurrency: number,
    private readonly maxQueued: number
  ) {}

  get active(): number {
    return this.running
  }
  get queued(): number {
    return this.urgent.length + this.background.length
  }

  /** Run `task` when a slot is free; it receives the time it spent queued (ms). */
  run<T>(key: string, urgent: boolean, task: (queuedMs: number) => Promise<T>, priority = 0): Promise<T> {
    if (this.running < this.concurrency && this.queued === 0) return this.exec(task, 0)
    if (this.queued >= this.maxQueued) {
      return Promise.reject(new Unavailable({ message: `load queue is full (${this.maxQueued} loads waiting); retry later`, retryAfterMs: 1000 }))
    }
    const queuedAt = performance.now()
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        key,
        urgent,
        priority,
        start: () => {
          this.byKey.delete(key)
          this.exec(task, performance.now() - queuedAt).then(resolve, reject)
        }
      }
      this.byKey.set(key, job)
      enqueue(urgent ? this.urgent : this.background, job)
    })
  }

  /** A request now waits on this key's queued load: move it ahead of background loads. */
  promote(key: string): void {
    const job = this.byKey.get(key)
    if (!job || job.urgent) return
    const i = this.background.indexOf(job)
    if (i >= 0) this.background.splice(i, 1)
    job.urgent = true
    enqueue(this.urgent, job)
  }

  private exec<T>(task: (queuedMs: number) => Promise<T>, queuedMs: number): Promise<T> {
    this.running++
    let p: Promise<T>
    try {
      p = task(queuedMs)
    } catch (e) {
      p = Promise.reject(e)
    }
    return p.finally(() => {
      this.running--
      this.next()
    })
  }

  private next(): void {
    while (this.running < this.concurrency) {
      const job = this.urgent.shift() ?? this.background.shift()
      if (!job) return
      job.start()
    }
  }
}

/** Behind every job of the same or higher priority (FIFO within a priority). */
const enqueue = (q: Job[], job: Job): void => {
  let i = q.length
  while (i > 0 && q[i - 1]!.priority < job.priority) i--
  q.splice(i, 0, job)
}
