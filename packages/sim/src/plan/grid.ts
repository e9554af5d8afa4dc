/**
 * The memory sizes the planner may try for one configuration: a geometric grid from `min` to
 * `max`, each step `resolution` (0.05 = 5 %) above the last, rounded up to whole `granularity`
 * bytes (so the reproducing command reads "5376MiB", not a 10-digit number). Bisection runs on
 * grid indices, so the smallest size that meets the SLO is found exactly on the grid whatever
 * order the probes come in, and the size one step below it (1 / (1 + resolution) of it) misses.
 */
export const memoryGrid = (min: number, max: number, resolution: number, granularity: number): number[] => {
  if (!(min > 0) || !(max >= min)) throw new RangeError(`memory range ${min}..${max} is empty`)
  if (!(resolution > 0)) throw new RangeError(`resolution must be above 0, got ${resolution}`)
  // rounded up: the grid never goes below `min` (the largest model must fit)
  const round = (b: number) => Math.max(granularity, Math.ceil(b / granularity) * granularity)
  const out = [round(min)]
  for (let k = 1; ; k++) {
    const next = round(min * (1 + resolution) ** k)
    if (next >= max) break
    if (next > out[out.length - 1]!) out.push(next)
  }
  const top = round(max)
  if (top > out[out.length - 1]!) out.push(top)
  return out
}

/** Rounding step for a range starting at `min`: 1 MiB, or finer for ranges of small models. */
export const granularityFor = (min: number): number => {
  const MiB = 1024 ** 2
  if (min >= 64 * MiB) return MiB
  let g = 1024
  while (g * 2 * 64 <= min) g *= 2
  return g
}

/** The largest index whose value keeps `costOf(value)` at or under `budget`; -1 when none does. */
export const lastIndexWithin = (grid: readonly number[], costOf: (memory: number) => number, budget: number): number => {
  let lo = -1
  let hi = grid.length
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if (costOf(grid[mid]!) <= budget) lo = mid
    else hi = mid
  }
  return lo
}
