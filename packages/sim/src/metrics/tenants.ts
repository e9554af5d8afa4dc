import { LogHistogramSet } from "./log-histogram.js"

export interface TenantResult {
  readonly tenant: string
  readonly requests: number
  readonly misses: number
  readonly coldStarts: number
  /** 99th percentile latency in µs (≈ 3 % resolution) */
  readonly p99Us: number
  /** fraction of its requests completed within the SLO (failed ones miss it); 1 without requests */
  readonly sloAttainment: number
  /** its guaranteed memory share on each instance, bytes (0: none) */
  readonly shareBytes: number
}

/**
 * Jain's fairness index over per-tenant values (here SLO attainment): (Σx)² / (n·Σx²), 1 when
 * all are equal, 1/n when one tenant gets everything. 1 for no tenants or all zeros.
 */
export const jainIndex = (xs: readonly number[]): number => {
  let sum = 0
  let sq = 0
  for (const x of xs) {
    sum += x
    sq += x * x
  }
  return xs.length === 0 || sq === 0 ? 1 : (sum * sum) / (xs.length * sq)
}

/** Per-tenant counters, indexed by small integers the engine assigns as tenants appear. */
export class TenantStats {
  readonly names: string[] = []
  private readonly index = new Map<string, number>()
  requests = new Float64Array(16)
  misses = new Float64Array(16)
  coldStarts = new Float64Array(16)
  withinSlo = new Float64Array(16)
  /** per-tenant latency histograms (µs) */
  private readonly latency = new LogHistogramSet()

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
        this.withinSlo = grow(this.withinSlo)
      }
    }
    return i
  }

  recordLatency(tenant: number, us: number): void {
    this.latency.record(tenant, us)
  }

  /** busiest tenants first; ties by name so the order is stable */
  results(shares?: ReadonlyMap<string, number>): TenantResult[] {
    return this.names
      .map((tenant, i) => ({
        tenant,
        requests: this.requests[i]!,
        misses: this.misses[i]!,
        coldStarts: this.coldStarts[i]!,
        p99Us: this.latency.percentile(i, 99),
        sloAttainment: this.requests[i]! > 0 ? this.withinSlo[i]! / this.requests[i]! : 1,
        shareBytes: shares?.get(tenant) ?? 0
      }))
      .sort((a, b) => b.requests - a.requests || (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0))
  }
}
