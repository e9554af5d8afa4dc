import type { LatencyPercentiles } from "./latency.js"
import type { PolicyResult } from "./result.js"
import { jainIndex, type TenantResult } from "./tenants.js"

/** The raw totals a run accumulates; `toResult` turns them into the reported ratios. */
export interface Totals {
  requests: number
  hits: number
  misses: number
  failed: number
  coldStarts: number
  coldStartMs: number
  loads: number
  evictions: number
  requestBytes: number
  missedBytes: number
  withinSlo: number
}

export const emptyTotals = (): Totals => ({
  requests: 0,
  hits: 0,
  misses: 0,
  failed: 0,
  coldStarts: 0,
  coldStartMs: 0,
  loads: 0,
  evictions: 0,
  requestBytes: 0,
  missedBytes: 0,
  withinSlo: 0
})

export const toResult = (
  policy: string,
  t: Totals,
  latencyUs: LatencyPercentiles,
  memory: { readonly peak: number; readonly mean: number },
  tenants: readonly TenantResult[],
  wallSeconds: number
): PolicyResult => ({
  policy,
  requests: t.requests,
  hits: t.hits,
  misses: t.misses,
  missRatio: t.requests > 0 ? t.misses / t.requests : 0,
  byteMissRatio: t.requestBytes > 0 ? t.missedBytes / t.requestBytes : 0,
  coldStarts: t.coldStarts,
  coldStartSeconds: t.coldStartMs / 1000,
  latencyUs,
  sloAttainment: t.requests > 0 ? t.withinSlo / t.requests : 1,
  peakMemoryBytes: memory.peak,
  meanMemoryBytes: memory.mean,
  loads: t.loads,
  evictions: t.evictions,
  failed: t.failed,
  tenants,
  fairness: jainIndex(tenants.map((x) => x.sloAttainment)),
  wallSeconds,
  requestsPerSecond: wallSeconds > 0 ? t.requests / wallSeconds : 0
})
