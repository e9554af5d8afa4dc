/**
 * Remembers failed loads (ModelMesh's negative cache): for `ttlMs` after a failure, requests get
 * the same error at once instead of triggering another load; after that the next request retries.
 * The last error stays visible in status until a load succeeds.
 */
export interface Failure {
  readonly error: Error
  readonly at: number
  readonly until: number
  /** consecutive failed loads */
  readonly count: number
}

export class FailureMemory {
  private readonly failures = new Map<string, Failure>()

  constructor(private readonly ttlMs: number) {}

  record(id: string, error: Error, now: number): Failure {
    const prev = this.failures.get(id)
    const f = { error, at: now, until: now + this.ttlMs, count: (prev?.count ?? 0) + 1 }
    this.failures.set(id, f)
    return f
  }

  /** The failure still being remembered at `now`, if any. */
  active(id: string, now: number): Failure | undefined {
    const f = this.failures.get(id)
    return f !== undefined && now < f.until ? f : undefined
  }

  /** The last failure, remembered or not (for status). */
  last(id: string): Failure | undefined {
    return this.failures.get(id)
  }

  clear(id: string): void {
    this.failures.delete(id)
  }

  /** Models whose failure is still remembered at `now`. */
  activeCount(now: number): number {
    let n = 0
    for (const f of this.failures.values()) if (now < f.until) n++
    return n
  }
}
