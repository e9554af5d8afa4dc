/**
 * A time-varying runtime speed (ClusterConfig.slowdown): work that starts on an instance's
 * runtime at time t takes its cost × the factor of t's step. It models a machine shared with
 * other work, where the share of a core the runtime gets changes over the run (the fidelity
 * check measures it from the server's main-thread scheduling, step by step, and replays it).
 * Before the first step and after the last, factor 1 and the last factor respectively. Absent:
 * every cost as given.
 */
export interface SlowdownConfig {
  /** length of each step, ms from the start of the trace's time axis */
  readonly stepMs: number
  /** factor per step (> 0; 2 = work takes twice its cost) */
  readonly factors: ReadonlyArray<number>
}

/** cost `ms` of work starting at `t`, stretched by the slowdown (identity without one) */
export const stretcher = (s: SlowdownConfig | undefined): ((t: number, ms: number) => number) => {
  if (s === undefined || s.factors.length === 0 || !(s.stepMs > 0)) return (_t, ms) => ms
  const f = Float64Array.from(s.factors, (x) => (x > 0 && Number.isFinite(x) ? x : 1))
  const step = s.stepMs
  const last = f.length - 1
  return (t, ms) => {
    if (t < 0) return ms
    const i = Math.floor(t / step)
    return ms * f[i > last ? last : i]!
  }
}
