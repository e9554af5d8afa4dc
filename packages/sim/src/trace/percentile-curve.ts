/**
 * An empirical distribution known only by a few percentiles (Azure's run-time table gives
 * p0, p1, p25, p50, p75, p99, p100): sampled by inverse transform with linear interpolation
 * between the known points.
 */
export class PercentileCurve {
  /** points: ascending percentiles in [0, 100] with their values (values made non-decreasing) */
  constructor(
    private readonly percentiles: Float64Array,
    private readonly values: Float64Array
  ) {
    for (let j = 1; j < values.length; j++) if (values[j]! < values[j - 1]!) values[j] = values[j - 1]!
  }

  /** the value at quantile u ∈ [0, 1] */
  at(u: number): number {
    const p = u * 100
    const ps = this.percentiles
    const vs = this.values
    const n = ps.length
    if (p <= ps[0]!) return vs[0]!
    for (let j = 1; j < n; j++) {
      if (p <= ps[j]!) {
        const span = ps[j]! - ps[j - 1]!
        return span === 0 ? vs[j]! : vs[j - 1]! + ((p - ps[j - 1]!) / span) * (vs[j]! - vs[j - 1]!)
      }
    }
    return vs[n - 1]!
  }
}
