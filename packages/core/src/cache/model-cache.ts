import type { ModelId, Resident, TenantId } from "../domain.js"
import type { EvictionPolicy } from "../eviction/policy.js"
import { FairShares, type TenantShares } from "../tenancy/shares.js"
import { ResidentEntry } from "./resident-entry.js"

/** Optional rules on top of the shared ones. */
export interface ModelCacheOptions {
  /**
   * Bytes guaranteed per tenant (a tenant not listed has share 0): fair memory shares, see
   * tenancy/shares.ts. Absent or empty: no tenant rule at all (the cache behaves as without it).
   */
  readonly shares?: TenantShares
  /**
   * The caller's small non-negative integer for each model id (the simulator's model index),
   * the same for an id every time. Given it, the cache files its residents in an array by that
   * integer instead of a map by id: an admission (with `AdmitRequest.key`) and an eviction write
   * one array element where they would hash the id into a map, and a lookup by id costs one call
   * of this function. Iteration (`residents`) then runs in key order, not in admission order.
   */
  readonly keyOf?: (id: ModelId) => number
}

/** What the cache needs to admit a model. */
export interface AdmitRequest {
  readonly id: ModelId
  readonly tenant: TenantId
  readonly size: number
  readonly loadCostMs: number
  readonly pinned?: boolean
  /** offline policies only: time of the model's next request after this one */
  readonly nextUse?: number
  /** with ModelCacheOptions.keyOf: keyOf(id), so the admission need not ask for it */
  readonly key?: number
}

export type AdmitResult =
  | { readonly ok: true; readonly entry: Resident; readonly evicted: readonly Resident[] }
  | { readonly ok: false; readonly reason: "too-large" | "no-room"; readonly needBytes: number }

const NO_VICTIMS: readonly Resident[] = []
const NO_SHARES: TenantShares = new Map()

/** A model may go only when nothing depends on it: not loading, not serving, not pinned. */
export const isEvictable = (e: Resident): boolean => !e.loading && e.inFlight === 0 && !e.pinned

/**
 * One instance's model cache under a byte budget. It enforces the rules every policy shares and
 * delegates only the *order* of eviction to the policy, so the server and the simulator get the
 * same behaviour from the same code:
 *  - never evict a model that is loading, serving (inFlight > 0) or pinned;
 *  - never admit a model larger than the capacity (nothing is evicted for it);
 *  - evict only what is needed: victims are taken in policy order until the new model fits.
 * Admission evicts before inserting, which for lru/fifo is exactly the classic definition.
 * With tenant shares (options.shares) the victims are further filtered by the fair-share rule
 * (tenancy/shares.ts); without them the code path is the same as before shares existed.
 */
export class ModelCache {
  /**
   * id → resident, or undefined once it has left. An id's key stays after it leaves (a
   * tombstone) so that a miss overwrites a value instead of deleting and re-adding a key: under
   * churn that saves the hash table its holes and rehashes. Tombstones are swept when they
   * outnumber the residents, so memory stays proportional to the cache, not to the ids ever seen.
   */
  private readonly entries = new Map<ModelId, Resident | undefined>()
  /** with options.keyOf: residents by key (undefined: none), used instead of `entries` */
  private byKey: (Resident | undefined)[] | undefined
  private readonly keyOf: ((id: ModelId) => number) | undefined
  private live = 0
  private tombstones = 0
  private usedBytes = 0
  /** bytes held outside residents, e.g. evicted models whose unload has not finished yet */
  private heldBytes = 0

  /** the fair-share rule, undefined without shares (then nothing per tenant is tracked) */
  private readonly fair: FairShares | undefined
  private currentPolicy: EvictionPolicy

  constructor(
    readonly capacity: number,
    policy: EvictionPolicy,
    options: ModelCacheOptions = {}
  ) {
    if (!(capacity > 0)) throw new RangeError(`cache capacity must be > 0 bytes, got ${capacity}`)
    this.currentPolicy = policy
    this.keyOf = options.keyOf
    this.byKey = options.keyOf === undefined ? undefined : []
    const shares = options.shares
    this.fair = shares !== undefined && shares.size > 0 ? new FairShares(shares, capacity) : undefined
  }

  get policy(): EvictionPolicy {
    return this.currentPolicy
  }

  /**
   * Switch to another policy (a configuration reload) keeping every resident: the new policy
   * is told about each one as an insert at its last use, oldest first, so recency-ordered
   * policies (lru, fifo, sieve, ttl, ...) start from the current order; what a policy learned
   * beyond that (frequencies, ghost queues, histograms) starts afresh. Tenant shares stay.
   */
  replacePolicy(policy: EvictionPolicy): void {
    const residents: Resident[] = [...this.residents()]
    residents.sort((a, b) => a.lastUsed - b.lastUsed)
    for (const r of residents) policy.onInsert(r, r.lastUsed)
    this.currentPolicy = policy
  }

  /** the tenant shares this cache enforces (empty without shares) */
  get shares(): TenantShares {
    return this.fair?.shares ?? NO_SHARES
  }
  /** bytes the tenant's residents hold (O(1) with shares, a walk over the residents without) */
  usedBy(tenant: TenantId): number {
    if (this.fair !== undefined) return this.fair.usageOf(tenant)
    let bytes = 0
    for (const e of this.residents()) if (e.tenant === tenant) bytes += e.size
    return bytes
  }

  get used(): number {
    return this.usedBytes + this.heldBytes
  }
  get count(): number {
    return this.live
  }
  get(id: ModelId): Resident | undefined {
    if (this.byKey !== undefined) return this.byKey[this.keyOf!(id)]
    return this.entries.get(id)
  }
  has(id: ModelId): boolean {
    return this.get(id) !== undefined
  }
  *residents(): IterableIterator<Resident> {
    const all = this.byKey ?? this.entries.values()
    for (const e of all) if (e !== undefined) yield e
  }

  /** A request for a resident model. */
  hit(e: Resident, now: number): void {
    if (now > e.lastUsed) e.lastUsed = now
    e.hits++
    this.currentPolicy.onHit(e, now)
  }

  /** Make room for and insert a new model (marked `loading`); `req.id` must not be resident. */
  admit(req: AdmitRequest, now: number): AdmitResult {
    const size = req.size
    if (size > this.capacity) return { ok: false, reason: "too-large", needBytes: size - this.capacity }
    const evicted = this.makeRoom(this.used + size - this.capacity, now, req.tenant, size)
    if (evicted === null) return { ok: false, reason: "no-room", needBytes: this.used + size - this.capacity }
    const byKey = this.byKey
    const k = byKey === undefined ? -1 : (req.key ?? this.keyOf!(req.id))
    const entry = new ResidentEntry(req.id, req.tenant, size, req.loadCostMs, req.pinned ?? false, now, req.nextUse ?? Infinity, k)
    if (byKey !== undefined) {
      while (byKey.length <= k) byKey.push(undefined)
      byKey[k] = entry
    } else {
      const before = this.entries.size
      this.entries.set(entry.id, entry)
      // same size: the id's tombstone came back (callers never admit an id that is resident)
      if (this.entries.size === before) this.tombstones--
    }
    this.live++
    this.usedBytes += size
    if (this.fair !== undefined) this.fair.add(entry.tenant, size)
    this.currentPolicy.onInsert(entry, now)
    return { ok: true, entry, evicted }
  }

  /**
   * The measured size replaces the prediction. Growing may evict others (never `e` itself);
   * returns the victims, or null when the model no longer fits (the caller should unload it).
   */
  resize(e: Resident, newSize: number, now: number): readonly Resident[] | null {
    const oldSize = e.size
    const delta = newSize - oldSize
    if (delta <= 0 || this.used + delta <= this.capacity) {
      e.size = newSize
      this.usedBytes += delta
      if (this.fair !== undefined) this.fair.add(e.tenant, delta)
      this.currentPolicy.onResize?.(e, oldSize)
      return NO_VICTIMS
    }
    if (newSize > this.capacity) return null
    const pinnedLoading = e.loading
    e.loading = true // shield it while choosing victims for it
    const evicted = this.makeRoom(this.used + delta - this.capacity, now, e.tenant, delta)
    e.loading = pinnedLoading
    if (evicted === null) return null
    e.size = newSize
    this.usedBytes += delta
    if (this.fair !== undefined) this.fair.add(e.tenant, delta)
    this.currentPolicy.onResize?.(e, oldSize)
    return evicted
  }

  /** Remove a model (user unload, failed load). Returns it, or undefined if absent. */
  remove(id: ModelId): Resident | undefined {
    const e = this.get(id)
    if (e === undefined) return undefined
    this.drop(e)
    return e
  }

  /** Keep-alive: unload residents whose policy says their time is up (and that may go). */
  expire(now: number): readonly Resident[] {
    const due = this.currentPolicy.expired?.(now)
    if (!due || due.length === 0) return NO_VICTIMS
    const out: Resident[] = []
    for (const e of due) {
      if (this.get(e.id) === e && isEvictable(e)) {
        this.drop(e)
        out.push(e)
      }
    }
    return out
  }

  /** Reserve bytes outside any resident (evicted but still unloading) and give them back. */
  hold(bytes: number): void {
    this.heldBytes += bytes
  }
  release(bytes: number): void {
    this.heldBytes = Math.max(0, this.heldBytes - bytes)
  }

  /** Victims freeing `need` bytes for `incoming` more bytes of `tenant`, dropped; null if none can. */
  private makeRoom(need: number, now: number, tenant: TenantId, incoming: number): readonly Resident[] | null {
    if (need <= 0) return NO_VICTIMS
    if (this.fair !== undefined) {
      const fair = this.fair.chooseVictims(this.currentPolicy, tenant, incoming, need, now, isEvictable)
      if (fair !== null) for (const v of fair) this.drop(v)
      return fair
    }
    const candidates = this.currentPolicy.chooseVictims(need, now, isEvictable)
    let freed = 0
    let n = 0
    while (n < candidates.length && freed < need) freed += candidates[n++]!.size
    if (freed < need) return null
    const victims = n === candidates.length ? candidates : candidates.slice(0, n)
    for (const v of victims) this.drop(v)
    return victims
  }

  private drop(e: Resident): void {
    this.live--
    if (this.byKey !== undefined) this.byKey[e.key!] = undefined
    else {
      this.entries.set(e.id, undefined)
      if (++this.tombstones > 1024 && this.tombstones > this.live) this.sweep()
    }
    this.usedBytes -= e.size
    if (this.fair !== undefined) this.fair.add(e.tenant, -e.size)
    this.currentPolicy.onRemove(e)
  }

  private sweep(): void {
    for (const [id, e] of this.entries) if (e === undefined) this.entries.delete(id)
    this.tombstones = 0
  }
}
