import { lastIndexWithin } from "./grid.js"
import { meets, violation, type Measured, type Objective } from "./objective.js"

/** One configuration to size: an instance count and a set of policies (any shape: the caller's). */
export interface Candidate<P> {
  readonly instances: number
  readonly policies: P
  /** position in the search space: the last tie-break, so the winner never depends on timing */
  readonly index: number
}

/** One simulation the search ran. */
export interface Probe<P> {
  readonly candidate: Candidate<P>
  readonly memoryBytes: number
  readonly cost: number
  readonly measured: Measured
  readonly meets: boolean
  readonly violation: number
}

/**
 * What the search learnt about one candidate:
 *  - met: the smallest grid size that meets the objective is `smallest` (exact on the grid);
 *  - met-above: it meets at `smallest`, but the search stopped there since nothing smaller could
 *    beat the best found (its own minimum may be lower);
 *  - missed: it misses even at the largest size of the search;
 *  - dominated: every size it could still meet at costs more than the best found (0 or 1 runs).
 */
export interface CandidateOutcome<P> {
  readonly candidate: Candidate<P>
  readonly status: "met" | "met-above" | "missed" | "dominated"
  readonly smallest?: Probe<P>
  readonly simulations: number
}

export interface SearchInput<P> {
  /** in the order to try them; cheapest lower bound first finds a good best early */
  readonly candidates: ReadonlyArray<Candidate<P>>
  /** memory sizes per instance, increasing (see memoryGrid) */
  readonly grid: readonly number[]
  readonly cost: (instances: number, memoryBytes: number) => number
  readonly objective: Objective
  readonly evaluate: (c: Candidate<P>, memoryBytes: number) => Promise<Measured>
  /** candidates searched at once (each bisection is sequential): the worker count */
  readonly lanes: number
  /** the expected number of simulations in all, re-estimated as the search prunes */
  readonly onEstimate?: (total: number) => void
}

export interface SearchResult<P> {
  readonly best?: Probe<P>
  readonly probes: ReadonlyArray<Probe<P>>
  readonly outcomes: ReadonlyArray<CandidateOutcome<P>>
  readonly simulations: number
}

/** Better on cost, then p99, then cold starts, then position in the space. */
const better = <P>(a: Probe<P>, b: Probe<P> | undefined): boolean => {
  if (b === undefined) return true
  if (a.cost !== b.cost) return a.cost < b.cost
  if (a.measured.p99Us !== b.measured.p99Us) return a.measured.p99Us < b.measured.p99Us
  if (a.measured.coldStarts !== b.measured.coldStarts) return a.measured.coldStarts < b.measured.coldStarts
  return a.candidate.index < b.candidate.index
}

const log2ceil = (n: number): number => (n <= 1 ? 0 : Math.ceil(Math.log2(n)))

/**
 * Branch and bound over the candidates, bisection on memory within each.
 *
 * Assumption: for one candidate, meeting the objective is monotone in memory per instance (more
 * memory: fewer evictions, fewer cold starts, a lower tail). It is what makes bisection valid and
 * it holds "enough" in a cache (more memory can, rarely, move a placement decision and the tail
 * with it); the planner guards it by re-checking the winner above and below (see plan-run.ts).
 *
 * Per candidate: probe the largest size that could still beat the best found so far (all sizes
 * when none is found yet); if it misses, the candidate is done (missed, or dominated when the cap
 * came from a cheaper best); if it meets, bisect on grid indices down to the smallest size that
 * meets, shrinking the cap whenever another candidate finds a cheaper best. A candidate whose
 * smallest size already costs more than the best is skipped with no simulation at all.
 */
export const searchPlan = async <P>(input: SearchInput<P>): Promise<SearchResult<P>> => {
  const { grid, candidates, objective } = input
  const top = grid.length - 1
  const probes: Probe<P>[] = []
  const outcomes: Array<CandidateOutcome<P> | undefined> = new Array(candidates.length)
  let best: Probe<P> | undefined
  let next = 0
  // per running candidate: simulations it may still need (for the estimate)
  const pending = new Map<number, number>()
  let inFlight = 0

  const capOf = (c: Candidate<P>): number =>
    best === undefined ? top : Math.min(top, lastIndexWithin(grid, (m) => input.cost(c.instances, m), best.cost))
  const estimate = () => {
    if (!input.onEstimate) return
    let rest = 0
    for (let i = next; i < candidates.length; i++) {
      const cap = capOf(candidates[i]!)
      if (cap >= 0) rest += 1 + log2ceil(cap + 1)
    }
    for (const v of pending.values()) rest += v
    input.onEstimate(probes.length + inFlight + rest)
  }

  const probe = async (c: Candidate<P>, k: number): Promise<Probe<P>> => {
    const memoryBytes = grid[k]!
    inFlight++
    estimate()
    let measured: Measured
    try {
      measured = await input.evaluate(c, memoryBytes)
    } finally {
      inFlight--
    }
    const p: Probe<P> = {
      candidate: c,
      memoryBytes,
      cost: input.cost(c.instances, memoryBytes),
      measured,
      meets: meets(measured, objective),
      violation: violation(measured, objective)
    }
    probes.push(p)
    if (p.meets && better(p, best)) best = p
    return p
  }

  const searchOne = async (c: Candidate<P>): Promise<CandidateOutcome<P>> => {
    let lo = -1 // every index ≤ lo misses (or lies below the grid)
    let hi: Probe<P> | undefined // the smallest size known to meet
    let hiIndex = top + 1
    let runs = 0
    for (;;) {
      const cap = capOf(c)
      if (hi === undefined) {
        pending.set(c.index, cap < 0 ? 0 : log2ceil(cap + 1))
        if (cap < 0) return { candidate: c, status: "dominated", simulations: runs }
        const p = await probe(c, cap)
        runs++
        if (!p.meets) return { candidate: c, status: cap === top ? "missed" : "dominated", simulations: runs }
        hi = p
        hiIndex = cap
        continue
      }
      if (hiIndex - lo <= 1) return { candidate: c, status: "met", smallest: hi, simulations: runs }
      if (cap <= lo) return { candidate: c, status: "met-above", smallest: hi, simulations: runs }
      const k = Math.min((lo + hiIndex) >> 1, cap)
      pending.set(c.index, log2ceil(Math.min(hiIndex, cap + 1) - lo) - 1)
      const p = await probe(c, k)
      runs++
      if (p.meets) {
        hi = p
        hiIndex = k
      } else lo = k
    }
  }

  const lane = async () => {
    while (next < candidates.length) {
      const i = next++
      const c = candidates[i]!
      try {
        outcomes[i] = await searchOne(c)
      } finally {
        pending.delete(c.index)
      }
      estimate()
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, input.lanes) }, lane))
  return {
    ...(best !== undefined ? { best } : {}),
    probes,
    outcomes: outcomes.filter((o): o is CandidateOutcome<P> => o !== undefined),
    simulations: probes.length
  }
}
