import type { ModelId, Resident, TenantId } from "../domain.js"
import type { EvictionPolicy } from "./policy.js"

/**
 * meshkit-adaptive's scoring caches (./meshkit-adaptive.ts explains what they are for): one
 * metadata-only cache per expert, each replaying the requests it is shown, hitting, missing and
 * evicting as that expert would, with decayed miss scores. Used twice: on one cache's own requests
 * (the policy's local scores), and on the whole cluster's requests (a ClusterSignal's, see
 * ./cluster-signal.ts). Plain synchronous code: O(k log n) per scored request, no allocation on a hit.
 */

/** A model held by some scoring cache: which of them hold it. */
interface Rec {
  readonly id: ModelId
  /** per expert: its scoring cache's entry, while that expert would hold the model */
  readonly shadow: Array<ShadowEntry | undefined>
  /** how many scoring caches hold it (0: forgotten) */
  held: number
}

/** A scoring cache's resident: a Resident of its own (the expert keeps its state in `slot`). */
interface ShadowEntry extends Resident {
  readonly rec: Rec
}

/** One expert's scoring cache (metadata only) and its decayed miss score. */
export interface Shadow {
  readonly policy: EvictionPolicy
  used: number
  score: number
  /** decayed misses (= score when a miss costs 1) */
  misses: number
  /** decayed evictions (0: it never had to make room, everything it saw fits) */
  evictions: number
  /** decayed requests on which exactly one of this expert and the leader missed */
  split: number
  /** whether it missed the current request */
  missed: boolean
}

const always = (): boolean => true
/** the increment grows by 2^(1/halfLife) per request; rescale everything before it overflows */
const RESCALE_AT = 1e200

/** 32-bit hash of an id (FNV-1a, then murmur3's finaliser so that the low bits are mixed) */
export const hashId = (id: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

export class ScoringCaches {
  readonly shadows: Shadow[]
  readonly k: number
  /** the expert the `split` counts compare with */
  leader = 0
  /** the current request's weight (grows so that older ones decay) */
  inc = 1
  /** SHARDS sample: a model is scored when (hash & mask) = 0 (mask 0: every model) */
  mask = 0
  /** whether the sample has been chosen */
  decided = false
  private readonly recs = new Map<ModelId, Rec>()
  private growth: number
  private shadowCap: number

  constructor(
    policies: EvictionPolicy[],
    private readonly capacityBytes: number,
    private readonly halfLife: number,
    /** what a scoring miss adds to `score`: 1, the model's load time, or its size */
    private readonly cost: "misses" | "load" | "bytes",
    private readonly sample: number
  ) {
    this.shadows = policies.map((policy) => ({ policy, used: 0, score: 0, misses: 0, evictions: 0, split: 0, missed: false }))
    this.k = policies.length
    this.growth = Math.pow(2, 1 / halfLife)
    this.shadowCap = capacityBytes
  }

  /** models some scoring cache holds */
  get held(): number {
    return this.recs.size
  }

  /** whether scoring cache 0 would have to evict to take a model of `size` bytes */
  full(size: number): boolean {
    return this.shadows[0]!.used + size > this.shadowCap
  }

  /** from now on score a hashed sample if `count` models fill the capacity (see the policy's header) */
  decideSampling(count: number): void {
    this.decided = true
    let s = 0
    while (count >> (s + 1) >= this.sample) s++
    if (s === 0) return
    this.mask = (1 << s) - 1
    this.shadowCap = this.capacityBytes / (1 << s)
    this.growth = Math.pow(2, (1 << s) / this.halfLife)
    for (const rec of this.recs.values()) {
      if ((hashId(rec.id) & this.mask) === 0) continue
      for (let j = 0; j < this.k; j++) {
        const se = rec.shadow[j]
        if (se !== undefined) this.drop(j, se)
      }
    }
  }

  /** one request: replay it on every scoring cache; false when the model is outside the sample */
  observe(id: ModelId, tenant: TenantId, size: number, loadCostMs: number, now: number): boolean {
    if (this.mask !== 0 && (hashId(id) & this.mask) !== 0) return false
    let rec = this.recs.get(id)
    if (rec === undefined) {
      rec = { id, shadow: new Array<ShadowEntry | undefined>(this.k).fill(undefined), held: 0 }
      this.recs.set(id, rec)
    }
    this.inc *= this.growth
    if (this.inc > RESCALE_AT) {
      for (const sh of this.shadows) {
        sh.score /= this.inc
        sh.misses /= this.inc
        sh.evictions /= this.inc
        sh.split /= this.inc
      }
      this.inc = 1
    }
    for (let j = 0; j < this.k; j++) this.request(j, rec, tenant, size, loadCostMs, now)
    if (rec.held === 0) this.recs.delete(rec.id) // fits in no scoring cache
    const lead = this.shadows[this.leader]!
    for (let j = 0; j < this.k; j++) if (this.shadows[j]!.missed !== lead.missed) this.shadows[j]!.split += this.inc
    return true
  }

  /** a model's size changed (ModelCache.resize) */
  resize(id: ModelId, size: number): void {
    const rec = this.recs.get(id)
    if (rec === undefined) return
    for (let j = 0; j < this.k; j++) {
      const se = rec.shadow[j]
      if (se === undefined) continue
      const before = se.size
      this.shadows[j]!.used += size - before
      se.size = size
      this.shadows[j]!.policy.onResize?.(se, before)
    }
  }

  /** forget every model (the scores stop) */
  clear(): void {
    this.recs.clear()
  }

  /** scoring cache j stops holding `se` (its own victim, or outside the sample) */
  private drop(j: number, se: ShadowEntry): void {
    const sh = this.shadows[j]!
    sh.policy.onRemove(se)
    sh.used -= se.size
    const rec = se.rec
    rec.shadow[j] = undefined
    if (--rec.held === 0) this.recs.delete(rec.id)
  }

  /** replay one request on scoring cache j */
  private request(j: number, rec: Rec, tenant: TenantId, size: number, loadCostMs: number, now: number): void {
    const sh = this.shadows[j]!
    const se = rec.shadow[j]
    const inc = this.inc
    if (se !== undefined) {
      sh.missed = false
      if (now > se.lastUsed) se.lastUsed = now
      se.hits++
      sh.policy.onHit(se, now)
      return
    }
    sh.missed = true
    sh.misses += inc
    sh.score += this.cost === "misses" ? inc : this.cost === "load" ? inc * loadCostMs : inc * size
    if (size > this.shadowCap) return // never fits: a miss every time
    const need = sh.used + size - this.shadowCap
    if (need > 0) {
      sh.evictions += inc
      const victims = sh.policy.chooseVictims(need, now, always)
      let freed = 0
      for (let i = 0; i < victims.length && freed < need; i++) {
        const v = victims[i] as ShadowEntry
        freed += v.size
        this.drop(j, v)
      }
    }
    const entry: ShadowEntry = {
      lastUsed: now,
      hits: 1,
      slot: undefined,
      size,
      inFlight: 0,
      loading: false,
      pinned: false,
      id: rec.id,
      tenant,
      loadCostMs,
      insertedAt: now,
      nextUse: Infinity,
      rec
    }
    rec.shadow[j] = entry
    rec.held++
    sh.used += size
    sh.policy.onInsert(entry, now)
  }
}
