import type { LatencyPercentiles } from "./latency.js"
import type { TenantResult } from "./tenants.js"
import type { TimelineSeries } from "./timeline.js"

/**
 * What one policy did on one trace: the object `meshkit sim --json` prints (one per policy).
 * Definitions:
 *  - hit: the request found a copy of its model (loaded, or loading: it then joins that load) or
 *    a load of it already pending; miss: it found neither (it triggers a load, or fails when the
 *    model fits nowhere);
 *  - coldStarts: requests that had to wait for a load; coldStartSeconds: their total wait;
 *  - byteMissRatio: bytes of the missed requests' models / bytes of all requests' models;
 *  - latency: arrival to completion (load wait + queueing + execution), µs;
 *  - sloAttainment: fraction of all requests completed within the SLO (failed ones miss it);
 *  - memory: bytes reserved by models across the cluster (resident or loading), peak and
 *    time-weighted mean from the first arrival to the last event;
 *  - failed: requests for a model larger than every instance (never served);
 *  - tenants: per tenant (busiest first): requests, misses, cold starts, p99, SLO attainment and
 *    memory share; fairness: Jain's index over the tenants' SLO attainment (1 = all alike).
 */
export interface PolicyResult {
  readonly policy: string
  readonly requests: number
  readonly hits: number
  readonly misses: number
  readonly missRatio: number
  readonly byteMissRatio: number
  readonly coldStarts: number
  readonly coldStartSeconds: number
  readonly latencyUs: LatencyPercentiles
  readonly sloAttainment: number
  readonly peakMemoryBytes: number
  readonly meanMemoryBytes: number
  readonly loads: number
  readonly evictions: number
  readonly failed: number
  readonly tenants: readonly TenantResult[]
  readonly fairness: number
  readonly wallSeconds: number
  readonly requestsPerSecond: number
}

/** The series behind the report's charts. */
export interface RunSeries {
  /** [latency µs, fraction ≤] */
  readonly latencyCdf: ReadonlyArray<readonly [number, number]>
  readonly timeline: TimelineSeries
}

export interface RunOutput {
  readonly result: PolicyResult
  readonly series: RunSeries
}
