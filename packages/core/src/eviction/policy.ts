import type { Resident } from "../domain.js"

/**
 * One eviction policy for one instance's cache. Plain synchronous code: the simulator calls it
 * millions of times per second. Time (`now`, ms) is always passed in; never read a clock.
 *
 * The cache (./cache.ts) owns byte accounting and the shared rules (never evict loading,
 * in-flight or pinned models; never admit what cannot fit; evict only what is needed). A policy
 * only orders residents: it is told about inserts, hits and removals, and asked for victims.
 */
export interface EvictionPolicy {
  readonly name: string
  /** a model was admitted (it is `loading` until the load completes) */
  onInsert(e: Resident, now: number): void
  /** a resident model was requested (cache hit) */
  onHit(e: Resident, now: number): void
  /** a model left the cache (evicted, expired or unloaded by the user) */
  onRemove(e: Resident): void
  /**
   * ModelCache.resize changed a resident's size (`e.size` is already the new one). For policies
   * that keep byte counts of their own (per queue); the others omit it.
   */
  onResize?(e: Resident, oldSize: number): void
  /**
   * Pick residents to evict until at least `needBytes` are freed, in eviction order, skipping
   * those for which `evictable` is false. May update internal state the way the algorithm does
   * (SIEVE's hand, S3-FIFO's queue moves). Must not call onRemove itself: the cache will call it
   * for each victim it actually evicts. Returning fewer bytes than needed means "cannot make room".
   */
  chooseVictims(needBytes: number, now: number, evictable: (e: Resident) => boolean): Resident[]
  /**
   * Keep-alive policies (ttl, hybrid histogram): residents whose keep-alive has run out at `now`,
   * to be unloaded even without memory pressure. Online policies without idle unload omit it.
   */
  expired?(now: number): Resident[]
  /** earliest time at which `expired` may return something (lets the simulator schedule it) */
  nextExpiry?(): number
  /**
   * The policy that decides right now, for policies that delegate (meshkit-adaptive: the expert
   * it follows); shown by a server's metrics. Others omit it: they are their own.
   */
  running?(): string
  /** true for offline policies that read `Resident.nextUse` (belady): simulator only */
  readonly offline?: boolean
}

/** How a policy is built: per instance, from its validated configuration. */
export type EvictionFactory<C> = (config: C) => EvictionPolicy
