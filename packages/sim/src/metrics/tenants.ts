import { LogHistogram } from "./log-histogram.js"

export interface TenantResult {
  readonly tenant: string
  readonly requests: number
  readonly misses: number
  readonly coldStarts: number
  /** 99th percentile latency in µs (≈ 3 % resolution) */
  readonly p99Us: number
}

/** Per-tenant counters, indexed by small integers the engine assigns as tenants appear. */
export class TenantStats {
  readonly names: string[] = []
  private readonly index = new Map<string, number>()
  requests = new Float64Array(16)
  misses = new Float64Array(16)
  coldStarts = new Float64Array(16)
  private readonly latency: Array<LogHistogram | undefined> = []

  /** the tenant's index, creating it on first sight */
  idOf(name: string): number {
    let i = this.index.get(name)
    if (i === undefined) {
      i = this.names.length
      this.names.push(name)
      this.index.set(name, i)
      if (i >= this.requests.length) {
        const grow = (a: Float64Array) => {
          const b = new Float64Array(a.length * 2)
          b.set(a)
          return b
        }
        this.requests = grow(this.requests)
        this.misses = grow(this.misses)
        this.coldStarts = grow(this.coldStarts)
      }
    }
    return i
  }

  recordLatency(tenant: number, us: number): void {
    let h = this.latency[tenant]
    if (h === undefined) this.latency[tenant] = h = new LogHistogram()
    h.record(us)
  }

  /** busiest tenants first; ties by name so the order is stable */
  results(): TenantResult[] {
    return this.names
      .map((tenant, i) => ({
        tenant,
        requests: this.requests[i]!,
        misses: this.misses[i]!,
        coldStarts: this.coldStarts[i]!,
        p99Us: this.latency[i]?.percentile(99) ?? 0
      }))
      .sort((a, b) => b.requests - a.requests || (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0))
  }
}
