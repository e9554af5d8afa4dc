import type { BatchingPolicy, ClusterSignal, EvictionPolicy, ModelCache } from "@meshkit/core"
import type { Log } from "../observability/log.js"
import type { ServerMetrics } from "../observability/metrics.js"
import type { ModelRecord } from "../registry/registry.js"
import type { ModelRuntimes } from "../runtimes/index.js"
import type { FailureMemory } from "./failure-memory.js"
import type { HeapGovernor } from "./native-heap.js"
import type { LoadPool } from "./load-pool.js"
import type { ModelEntry } from "./model-entry.js"

export interface ManagerOptions {
  readonly capacityBytes: number
  readonly policy: EvictionPolicy
  /**
   * A fresh policy for another budget: a runtime with memory of its own (capacityBytes, a
   * remote runtime) gets a cache of its own under the same policy. Without it such models
   * share the server's cache.
   */
  readonly policyFor?: (capacityBytes: number, traffic?: ClusterSignal) => EvictionPolicy
  /**
   * A standalone server (no cluster): its requests are all the traffic there is, so each cache's
   * policy (built by `policyFor`, which is then required) is given them as its ClusterSignal, one
   * instance wide, as the simulator's full mode gives a one-instance cluster's arrivals. In a
   * cluster an instance sees only what is routed to it, biased by what it holds: no signal there.
   */
  readonly ownTraffic?: boolean
  /** the runtime for each model is picked by its record's format */
  readonly runtimes: ModelRuntimes
  readonly metrics: ServerMetrics
  readonly log: Log
  readonly maxConcurrentLoads: number
  readonly loadQueueLimit: number
  readonly loadTimeoutMs: number
  readonly modelConcurrency: number
  readonly queueLimit: number
  readonly failureMemoryMs: number
  readonly expireIntervalMs: number
  /** dynamic batching for a model, if it is batched (its settings, else the server's defaults) */
  readonly batchingFor?: (r: ModelRecord) => BatchingPolicy | undefined
  /** local file to load for a record (URL sources: the download cache, fetched again if missing) */
  readonly resolvePath?: (r: ModelRecord) => Promise<string>
  /** load-queue priority of a tenant's models (tenancy; higher loads first, default 0) */
  readonly priorityOf?: (tenant: string) => number
  /** tenancy: each tenant's guaranteed bytes of the budget (core fair memory shares) */
  readonly shares?: ReadonlyMap<string, number>
  /** gives freed native memory back to the OS after unloads when the process is over its line */
  readonly heap?: HeapGovernor
}

/** The state the manager, its loading and its unloading share (one instance's models). */
export interface InstanceCore {
  readonly options: ManagerOptions
  readonly entries: Map<string, ModelEntry>
  /** the server's cache (--memory) */
  readonly cache: ModelCache
  /** the cache `e` is admitted to: the server's, or its runtime's own (capacityBytes) */
  readonly cacheOf: (e: ModelEntry) => ModelCache
  /** every cache, the server's first */
  readonly caches: ReadonlyArray<ModelCache>
  readonly pool: LoadPool
  readonly failures: FailureMemory
  readonly capacity: CapacitySignal
  /** shutdown started: no new loads */
  closing: boolean
}

/** Wakes loads waiting for room whenever bytes are freed or a model stops serving. */
export class CapacitySignal {
  private waiters: Array<() => void> = []

  get waiting(): boolean {
    return this.waiters.length > 0
  }

  signal(): void {
    if (this.waiters.length === 0) return
    const ws = this.waiters
    this.waiters = []
    for (const w of ws) w()
  }

  /** Resolves at the next signal, or after `timeoutMs`. */
  changed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs)
      this.waiters.push(() => {
        clearTimeout(t)
        resolve()
      })
    })
  }
}
