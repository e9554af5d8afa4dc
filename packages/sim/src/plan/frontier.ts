/**
 * Pareto frontier: the points no other point beats on every objective (all minimised). A point
 * equal to another on every objective is kept once (the first). O(n²): the planner has hundreds.
 */
export const paretoFrontier = <T>(points: readonly T[], objectives: ReadonlyArray<(p: T) => number>): T[] => {
  const dominates = (a: T, b: T): boolean => {
    let strictly = false
    for (const f of objectives) {
      const x = f(a)
      const y = f(b)
      if (x > y) return false
      if (x < y) strictly = true
    }
    return strictly
  }
  const same = (a: T, b: T) => objectives.every((f) => f(a) === f(b))
  const out: T[] = []
  points.forEach((p, i) => {
    if (points.some((q) => q !== p && dominates(q, p))) return
    if (points.slice(0, i).some((q) => same(q, p))) return
    out.push(p)
  })
  return out
}
