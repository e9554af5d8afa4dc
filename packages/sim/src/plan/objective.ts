/** What a simulation must show for a configuration to count: p99 within the SLO, cold starts within the rate. */
export interface Objective {
  /** p99 latency limit, µs */
  readonly p99Us: number
  /** cold starts ÷ requests at most this (0..1); absent: no limit */
  readonly maxColdStartRate?: number
}

/** The figures of one simulation the planner looks at. */
export interface Measured {
  readonly p99Us: number
  readonly coldStarts: number
  readonly requests: number
  /** requests never served (a model larger than every instance): any makes a configuration fail */
  readonly failed: number
}

export const coldStartRate = (m: Measured): number => (m.requests > 0 ? m.coldStarts / m.requests : 0)

/**
 * How far a run is from the objective: the worst ratio of measured to allowed (≤ 1 meets it).
 * Infinite when requests failed. The closest configuration, when none meets it, is the smallest.
 */
export const violation = (m: Measured, o: Objective): number => {
  if (m.failed > 0 || m.requests === 0) return Infinity
  const latency = m.p99Us / o.p99Us
  if (o.maxColdStartRate === undefined) return latency
  const rate = coldStartRate(m)
  return Math.max(latency, o.maxColdStartRate === 0 ? (rate === 0 ? 0 : Infinity) : rate / o.maxColdStartRate)
}

export const meets = (m: Measured, o: Objective): boolean => violation(m, o) <= 1
