import { buildPolicy, type ClusterSignal, InstanceViewState, ModelCache, policyRng, RecencyList, type EvictionPolicy, type TenantShares } from "@meshkit/core"
import type { SimConfig } from "./config.js"
import type { Copy } from "./copy.js"
import { sharesFor } from "./shares.js"

/** How soon to look again when a keep-alive is due but the model is busy. */
const EXPIRY_RETRY_MS = 1000

/** FIFO of copies waiting for a load slot. */
class LoadQueue {
  private items: Copy[] = []
  private head = 0
  push(c: Copy): void {
    this.items.push(c)
  }
  /** next copy whose load has not started (a promoted copy sits in both queues) */
  next(): Copy | undefined {
    while (this.head < this.items.length) {
      const c = this.items[this.head++]!
      if (!c.loadStarted) {
        this.compact()
        return c
      }
    }
    this.compact()
    return undefined
  }
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }
}

/** FIFO of integers (amortised O(1), no allocation per item once grown). */
export class IntQueue {
  private items = new Int32Array(64)
  private head = 0
  private tail = 0
  get size(): number {
    return this.tail - this.head
  }
  push(v: number): void {
    if (this.tail === this.items.length) {
      const live = this.tail - this.head
      if (live * 2 > this.items.length) {
        const grown = new Int32Array(this.items.length * 2)
        grown.set(this.items.subarray(this.head, this.tail))
        this.items = grown
      } else this.items.copyWithin(0, this.head, this.tail)
      this.head = 0
      this.tail = live
    }
    this.items[this.tail++] = v
  }
  shift(): number {
    return this.items[this.head++]!
  }
}

/**
 * One simulated instance: a ModelCache under its memory, a pool of load slots with two queues
 * (loads a request waits for go before background loads), the copies it holds, and a recency
 * list of them so ModelMesh's lruTime (oldest lastUsed) is O(1). Its placement view is core's
 * InstanceViewState, refreshed in place before each placement.
 */
export class Instance {
  readonly cache: ModelCache
  readonly demandLoads = new LoadQueue()
  readonly backgroundLoads = new LoadQueue()
  readonly view: InstanceViewState
  activeLoads = 0
  /** copies admitted and not yet loaded (queued or loading) */
  loadingCopies = 0
  /** loads start no earlier than this: memory of evicted models is not free until unloaded */
  unloadingUntil = -Infinity
  inFlight = 0
  /** free runtime threads (Infinity: unlimited); see ClusterConfig.runtimeThreads */
  threadsFree = Infinity
  /**
   * Work waiting for a runtime thread, in arrival order: a request slot (≥ 0, its execution) or
   * ~copyId (< 0, a load).
   */
  readonly threadWaiting = new IntQueue()
  /** its copies by request recency: the oldest gives the view's lruTime */
  readonly recency = new RecencyList<Copy>()
  /** time of the next scheduled keep-alive check, Infinity when none */
  expiryAt = Infinity
  /**
   * Smallest model size the cache last refused for lack of evictable room (everything else busy),
   * Infinity when unknown. Until something here becomes idle, placement skips this instance for
   * models at least that large instead of asking the cache again.
   */
  noRoomFor = Infinity
  /**
   * Bytes of the residents the cache may evict now (loaded, no request in flight; nothing is
   * pinned in the simulator), kept by the engine as copies load, get busy, go idle and leave. A
   * cache cannot free more than this, so an admission needing more must be refused: placement
   * knows that without asking the eviction policy (see admission.ts).
   */
  idleBytes = 0

  constructor(
    readonly idx: number,
    readonly id: string,
    readonly capacity: number,
    readonly maxLoads: number,
    readonly policy: EvictionPolicy,
    shares?: TenantShares,
    /** the run's model index of an id: the cache files its residents by it (ModelCacheOptions.keyOf) */
    keyOf?: (id: string) => number
  ) {
    this.cache = new ModelCache(capacity, policy, { ...(shares ? { shares } : {}), ...(keyOf ? { keyOf } : {}) })
    this.view = new InstanceViewState(idx, id, capacity, maxLoads)
  }

  /** next copy to load, demand first */
  nextLoad(): Copy | undefined {
    return this.demandLoads.next() ?? this.backgroundLoads.next()
  }

  /**
   * Keep-alive (policies with `nextExpiry`): the time of the next check if it is due sooner than
   * the one already scheduled (now recorded as scheduled), Infinity when nothing new is needed.
   */
  rescheduleExpiry(t: number): number {
    const next = this.policy.nextExpiry?.() ?? Infinity
    if (next === Infinity || next >= this.expiryAt) return Infinity
    // Due but busy (can't go yet): look again a little later rather than spin at time t.
    const at = next > t ? next : t + EXPIRY_RETRY_MS
    if (at >= this.expiryAt) return Infinity
    this.expiryAt = at
    return at
  }

  /** whether the cache could make room for `size` more bytes now (a necessary condition) */
  couldAdmit(size: number): boolean {
    return this.cache.used + size - this.capacity <= this.idleBytes
  }

  refreshView(rpm: number, hasModel: boolean): InstanceViewState {
    const v = this.view
    v.usedBytes = this.cache.used
    v.loadingCount = this.loadingCopies
    v.inFlight = this.inFlight
    v.modelCount = this.cache.count
    const oldest = this.recency.oldest()
    v.lruTime = oldest ? oldest.entry.lastUsed : Infinity
    v.rpm = rpm
    v.hasModel = hasModel
    return v
  }
}

/** The run's instances, each with its own eviction policy seeded by policyRng(seed, "eviction", i). */
export const buildInstances = (cfg: SimConfig, cluster?: ClusterSignal, keyOf?: (id: string) => number): Instance[] => {
  const c = cfg.cluster
  const out: Instance[] = []
  const shares = sharesFor(cfg.shares, c.memoryBytes)
  for (let i = 0; i < c.instances; i++) {
    const policy = buildPolicy("eviction", cfg.eviction, { rng: policyRng(cfg.seed, "eviction", i), capacityBytes: c.memoryBytes, ...(cluster ? { cluster } : {}) })
    const inst = new Instance(i, `instance-${i}`, c.memoryBytes, c.maxConcurrentLoads, policy, shares, keyOf)
    if (c.runtimeThreads !== undefined && c.runtimeThreads > 0) inst.threadsFree = c.runtimeThreads
    out.push(inst)
  }
  return out
}
