import type { Resident, TenantId } from "../domain.js"
import type { EvictionPolicy } from "../eviction/policy.js"

/** Bytes of one cache's budget guaranteed to each tenant; a tenant not listed has share 0. */
export type TenantShares = ReadonlyMap<TenantId, number>

/** Throws a RangeError naming the tenant when a share is not a byte count or the shares overflow the budget. */
export const validateShares = (shares: TenantShares, capacity: number): void => {
  let sum = 0
  for (const [tenant, bytes] of shares) {
    if (!(Number.isFinite(bytes) && bytes >= 0))
      throw new RangeError(`memory share of tenant "${tenant}" must be a byte count >= 0, got ${bytes}`)
    sum += bytes
  }
  if (sum > capacity)
    throw new RangeError(`memory shares add up to ${sum} bytes, more than the cache capacity of ${capacity} bytes`)
}

/**
 * Fair memory shares over one cache (issue 10). The budget is shared: a tenant may borrow idle
 * share, but
 *  - a tenant within its share loses models only to make room for itself, never so that another
 *    tenant can exceed its share;
 *  - when a tenant within its share (counting the model it admits) needs room, borrowers' models
 *    (tenants over their share) go first, in the policy's order, while each is still over its
 *    share; then its own, in the policy's order;
 *  - a tenant that will be over its share takes room from its own models and from other tenants'
 *    borrowed bytes only (a victim must leave its tenant at or above its share); when that is not
 *    enough the admission answers no-room.
 * The policy still orders victims inside each tenant: this only filters its order.
 *
 * Cost: the policy is asked with a predicate that skips protected tenants, so a call costs what
 * the policy pays for the candidates it walks (O(k log n) for heap policies, k = candidates
 * visited, which includes the protected ones it passes over). The predicate counts bytes
 * tentatively as it says yes, so policies that take every candidate they are offered (lru, fifo,
 * ttl, lfu, gdsf, belady, hybrid, meshkit-adaptive) need one call. Policies that may pass over an
 * offered candidate (sieve's visited bit, s3fifo's reinsertion, belady-size's scoring) can end a
 * call short; then the cache asks again for the rest (another O(k log n)), finally with a pure
 * predicate, which always makes progress when any legal victim is left. When a call ends short,
 * victims of earlier calls are evicted after a later call: policies that treat "victims of the
 * latest call" specially (gdsf's clock, s3fifo's ghost, meshkit-adaptive's ghost) do not see them
 * as victims. That can only happen with shares on; without shares the cache never comes here.
 */
export class FairShares {
  private readonly usage = new Map<TenantId, number>()
  // State of one makeRoom (fields, not closures, so the predicate allocates nothing per call).
  private requester: TenantId = ""
  private requesterOver = false
  private ownPhase = false
  private stateful = true
  /** bytes of accepted victims per tenant in this makeRoom */
  private readonly taken = new Map<TenantId, number>()
  /** bytes the stateful predicate said yes to in this call, per tenant */
  private readonly tentative = new Map<TenantId, number>()
  private readonly counted = new Set<Resident>()
  /** candidates the stateful predicate refused only because of its tentative bytes, this call */
  private tentativeRefusals = 0
  private readonly accepted = new Set<Resident>()
  private evictable: (e: Resident) => boolean = () => false

  constructor(readonly shares: TenantShares, capacity: number) {
    validateShares(shares, capacity)
  }

  shareOf(tenant: TenantId): number {
    return this.shares.get(tenant) ?? 0
  }
  /** bytes its residents hold (loading and busy ones included) */
  usageOf(tenant: TenantId): number {
    return this.usage.get(tenant) ?? 0
  }
  /** a resident of `tenant` grew (or, negative, shrank or left) by `bytes` */
  add(tenant: TenantId, bytes: number): void {
    const u = (this.usage.get(tenant) ?? 0) + bytes
    if (u <= 0) this.usage.delete(tenant)
    else this.usage.set(tenant, u)
  }

  /**
   * Victims, in eviction order, freeing at least `need` bytes for `incoming` more bytes of
   * `tenant`; null when the rule leaves too little (nothing is evicted then). Does not remove
   * them: the cache drops each one (and calls `add` for it).
   */
  chooseVictims(
    policy: EvictionPolicy,
    tenant: TenantId,
    incoming: number,
    need: number,
    now: number,
    evictable: (e: Resident) => boolean
  ): Resident[] | null {
    this.requester = tenant
    this.requesterOver = this.usageOf(tenant) + incoming > this.shareOf(tenant)
    this.evictable = evictable
    this.taken.clear()
    this.accepted.clear()
    const out: Resident[] = []
    this.ownPhase = false
    let freed = this.phase(policy, need, 0, now, out)
    // A tenant within its share falls back on its own models once borrowed bytes run out.
    if (freed < need && !this.requesterOver) {
      this.ownPhase = true
      freed = this.phase(policy, need, freed, now, out)
    }
    this.accepted.clear()
    this.counted.clear()
    return freed >= need ? out : null
  }

  /** Ask the policy until `need` is freed or no call makes progress; returns the bytes freed. */
  private phase(policy: EvictionPolicy, need: number, freed: number, now: number, out: Resident[]): number {
    this.stateful = true
    while (freed < need) {
      this.tentative.clear()
      this.counted.clear()
      this.tentativeRefusals = 0
      const before = out.length
      const asked = need - freed
      const cands = policy.chooseVictims(asked, now, this.offer)
      let offered = 0
      let refused = 0
      for (let i = 0; i < cands.length && freed < need; i++) {
        const v = cands[i]!
        offered += v.size
        if (this.accepted.has(v) || !this.evictable(v) || !this.legal(v, this.taken.get(v.tenant) ?? 0)) {
          refused++
          continue
        }
        this.accepted.add(v)
        this.taken.set(v.tenant, (this.taken.get(v.tenant) ?? 0) + v.size)
        out.push(v)
        freed += v.size
      }
      // The policy came up short and nothing it offered or passed over was refused for bytes
      // counted ahead: it has nothing more to give under this rule.
      if (freed < need && offered < asked && refused === 0 && this.tentativeRefusals === 0) break
      if (out.length > before) this.stateful = true
      else if (this.stateful) this.stateful = false
      else break
    }
    return freed
  }

  /** May `e` go, `alreadyGoing` bytes of its tenant being evicted already? */
  private legal(e: Resident, alreadyGoing: number): boolean {
    const u = e.tenant
    if (u === this.requester) return this.ownPhase || this.requesterOver
    if (this.ownPhase) return false
    const left = this.usageOf(u) - alreadyGoing
    // over-share requester: borrowed bytes only; owner reclaiming: any borrower still over its share
    return this.requesterOver ? left - e.size >= this.shareOf(u) : left > this.shareOf(u)
  }

  /** The predicate the policy walks its order with. */
  private readonly offer = (e: Resident): boolean => {
    if (!this.evictable(e) || this.accepted.has(e)) return false
    const u = e.tenant
    if (u === this.requester) return this.legal(e, 0)
    const taken = this.taken.get(u) ?? 0
    if (!this.legal(e, taken)) return false
    if (this.stateful && !this.counted.has(e) && !this.legal(e, taken + (this.tentative.get(u) ?? 0))) {
      this.tentativeRefusals++
      return false
    }
    if (this.stateful && !this.counted.has(e)) {
      this.counted.add(e)
      this.tentative.set(u, (this.tentative.get(u) ?? 0) + e.size)
    }
    return true
  }
}
