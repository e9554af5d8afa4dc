/**
 * Domain types shared by the server and the simulator. Plain data, no behaviour:
 * Schemas for what crosses a boundary (config, API) live in ./schema.ts.
 */
export type ModelId = string
export type TenantId = string
export type InstanceId = string

/** What a user registers. `sizeBytes` is a prediction until the model is loaded and measured. */
export interface ModelSpec {
  readonly id: ModelId
  readonly tenant: TenantId
  readonly format: string
  readonly uri: string
  readonly sizeBytes: number
  readonly loadCostMs: number
  readonly labels: Readonly<Record<string, string>>
  readonly pinned: boolean
  readonly minCopies: number
  readonly maxCopies: number
}

/**
 * A model resident (or loading) in one instance's cache: the view an eviction policy gets.
 * Mutable on purpose: the hot loop updates it in place, and policies may hang their own
 * bookkeeping on it through `slot` (intrusive list links, priorities) to stay O(1).
 */
export interface Resident {
  readonly id: ModelId
  readonly tenant: TenantId
  /** bytes it occupies (predicted, then measured) */
  size: number
  /** what a miss costs: load time in ms (GDSF-style policies weigh it) */
  loadCostMs: number
  /** virtual or wall time (ms) of the last request; ModelMesh's `lastUsed` */
  lastUsed: number
  /** time it was admitted */
  insertedAt: number
  /** requests served while resident (including the one that loaded it) */
  hits: number
  /** requests currently executing or queued on it: never evicted while > 0 */
  inFlight: number
  /** load in progress: never evicted while true */
  loading: boolean
  /** pinned by the user: never evicted */
  pinned: boolean
  /**
   * Time of this model's next request, for offline policies (belady); Infinity when never again
   * or unknown. Only the simulator sets it; online policies must ignore it.
   */
  nextUse: number
  /** private per-policy state; only the policy that inserted the entry touches it */
  slot: unknown
  /** its ModelCacheOptions.keyOf integer in a cache that files by key (-1 otherwise; absent in entries made outside a cache) */
  key?: number
}

/** Per-instance view for placement and scaling policies. */
export interface InstanceView {
  readonly id: InstanceId
  readonly capacityBytes: number
  readonly usedBytes: number
  readonly labels: Readonly<Record<string, string>>
  /** loads in progress and the pool size */
  readonly loadingCount: number
  readonly maxConcurrentLoads: number
  /** requests executing or queued on this instance */
  readonly inFlight: number
  readonly modelCount: number
  /** oldest lastUsed among its resident models (ModelMesh's lruTime); +Infinity when empty */
  readonly lruTime: number
  /** requests per minute over the recent window */
  readonly rpm: number
  readonly shuttingDown: boolean
  /** whether a copy of the model being placed is already here (placement must skip those) */
  readonly hasModel: boolean
}

/** One loaded copy of a model, for routing. */
export interface CopyView {
  readonly instanceId: InstanceId
  readonly inFlight: number
  /** per-copy concurrency limit; a copy at its limit queues */
  readonly maxConcurrency: number
}

/** Request statistics of one model across the cluster, for scaling policies. */
export interface ModelLoadStats {
  readonly id: ModelId
  readonly copies: number
  readonly minCopies: number
  readonly maxCopies: number
  /** requests per minute over the recent window, all copies together */
  readonly rpm: number
  /** time of the last request (ms) */
  readonly lastUsed: number
  /**
   * time the model was also in use before the current burst (ms); -Infinity if unknown.
   * Concretely: its earliest request inside the caller's look-back window (ModelMesh: 40 min),
   * so a model in continuous use reports a time well before `lastUsed` (the steady-use rule).
   */
  readonly firstUsedInWindow: number
  /** fraction of total cluster capacity that is free, 0..1 */
  readonly clusterFreeFraction: number
}
