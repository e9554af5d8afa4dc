/**
 * Seeded, fast PRNG (mulberry32). Policies that randomise (power-of-two choices, ModelMesh's
 * shortlist) take one so that a run is reproducible for a seed. Never Math.random in the core.
 */
export interface Rng {
  /** uniform in [0, 1) */
  next(): number
  /** uniform integer in [0, n) */
  int(n: number): number
}

export const makeRng = (seed: number): Rng => {
  // The state is kept as int32 (| 0), not uint32 (>>> 0): the same bits, so the same outputs,
  // but half of the uint32 values do not fit a small integer and a closure variable holding one
  // costs a heap number per draw.
  let a = seed | 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) | 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, int: (n) => Math.floor(next() * n) }
}

/** The random streams a run draws from; each gets its own generator so that they never interfere. */
export type RngFamily = "placement" | "routing" | "scaling" | "exec" | "load" | "eviction"

/**
 * Offsets from the run's seed, one per family. They are the simulator's original derivation
 * (placement seed, routing seed+1, scaling seed+2, execution times seed+3, load-time factors
 * seed+4, the eviction policy of instance i seed+100+i), kept so that results recorded before
 * this function existed replay to the last digit.
 */
const FAMILY_OFFSET: Readonly<Record<RngFamily, number>> = {
  placement: 0,
  routing: 1,
  scaling: 2,
  exec: 3,
  load: 4,
  eviction: 100
}

/**
 * The one way to seed a policy or sampler: the simulator and the server both call it, so the
 * same seed gives the same choices on both sides. `instance` only matters for families with one
 * generator per instance (eviction: each cache owns its policy); within one run no two streams
 * share a seed. (The simulator's ideal mode, one cache standing for the whole cluster, seeds its
 * eviction policy with `makeRng(seed)` as it always has: it is not a cluster instance.)
 */
export const policyRng = (seed: number, family: RngFamily, instance = 0): Rng =>
  makeRng(seed + FAMILY_OFFSET[family] + (family === "eviction" ? instance : 0))
