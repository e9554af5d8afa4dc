import type { PolicyChoice } from "@meshkit/core"
import type { BatchingConfig } from "./batches.js"
import type { SlowdownConfig } from "./slowdown.js"

/** Execution time of a request whose trace does not give one. */
export type ExecTimeConfig =
  | { readonly kind: "constant"; readonly ms: number }
  | { readonly kind: "lognormal"; readonly medianMs: number; readonly sigma: number }
  | { readonly kind: "exponential"; readonly meanMs: number }

/** The simulated cluster, in engine units (bytes, milliseconds), already validated. */
export interface ClusterConfig {
  readonly instances: number
  /** memory of each instance */
  readonly memoryBytes: number
  /** load slots per instance: loads beyond this queue */
  readonly maxConcurrentLoads: number
  /** load time = loadFixedMs + size / loadBytesPerSecond */
  readonly loadFixedMs: number
  readonly loadBytesPerSecond: number
  /** time to unload an evicted model; loads on that instance start only after it */
  readonly unloadMs: number
  readonly exec: ExecTimeConfig
  /** requests one copy executes at once; more queue on the copy */
  readonly modelConcurrency: number
  /** copies of one model scaling may ask for (placement never puts two on one instance) */
  readonly maxCopies: number
  /**
   * Threads per instance that run model loads and inferences, each one at a time (a meshkit
   * server with its ONNX runtime on the JS thread has 1: a load or an inference blocks everything
   * else there). Work waits for a free thread in arrival order. 0 or absent: unlimited (loads and
   * inferences never wait for each other; only load slots and model concurrency limit them).
   */
  readonly runtimeThreads?: number
  /**
   * Latency every request spends outside the instance (network, client, HTTP parsing), added to
   * its latency; it holds no resource. 0 or absent: none.
   */
  readonly requestOverheadMs?: number
  /**
   * Time an unload holds a runtime thread of its instance, from its start (a server with its
   * ONNX runtime on the JS thread releases a session synchronously: nothing else runs there
   * meanwhile). Needs runtimeThreads ≥ 1. 0 or absent: unloads hold no thread (they only delay
   * the instance's next load by unloadMs).
   */
  readonly unloadHoldMs?: number
  /**
   * The runtime's speed over time (slowdown.ts): work starting in a step takes its cost × that
   * step's factor, on every instance (a machine shared with other work). Absent: costs as given.
   */
  readonly slowdown?: SlowdownConfig
  /**
   * Spread of load times: each load takes its model's load time × a lognormal factor of mean 1
   * and this σ (real loads vary with disk, CPU contention and allocation; the tail of cold-start
   * latency comes from it). 0 or absent: every load of a model takes the same time.
   */
  readonly loadSigma?: number
  /**
   * Dynamic batching on every copy: queued requests run together when the core batching policy
   * says so (the server's batcher asks the same policy). Absent: every request runs alone, up to
   * modelConcurrency at once.
   */
  readonly batching?: BatchingConfig
}

export type Mode = "full" | "ideal"

/** Everything one simulation run needs besides the trace. */
export interface SimConfig {
  /**
   * full: the cluster with timing, placement, routing, scaling. ideal: one instance of
   * `cluster.memoryBytes`, zero load and execution time: a pure cache replay.
   */
  readonly mode: Mode
  readonly cluster: ClusterConfig
  readonly eviction: PolicyChoice | string
  readonly placement: PolicyChoice | string
  readonly routing: PolicyChoice | string
  /** "none" turns copy scaling off (one copy per model, placed on demand) */
  readonly scaling: PolicyChoice | string
  readonly seed: number
  /** latency objective: a request meets the SLO when it completes within this many ms */
  readonly sloMs: number
  /**
   * Fair memory shares per tenant on each instance (bytes, or a fraction of its memory), enforced
   * by core's ModelCache; absent or empty: none (the engine then runs exactly as without them).
   */
  readonly shares?: ReadonlyArray<TenantShareConfig>
}

/** One tenant's guaranteed share of each instance's memory: `bytes`, or `fraction` of it. */
export interface TenantShareConfig {
  readonly id: string
  readonly bytes?: number
  readonly fraction?: number
}

export const loadTimeMs = (c: ClusterConfig, sizeBytes: number): number =>
  c.loadFixedMs + (sizeBytes * 1000) / c.loadBytesPerSecond

export const defaultCluster: ClusterConfig = {
  instances: 1,
  memoryBytes: 16 * 1024 ** 3,
  maxConcurrentLoads: 2,
  loadFixedMs: 100,
  loadBytesPerSecond: 1024 ** 3,
  unloadMs: 10,
  exec: { kind: "constant", ms: 10 },
  modelConcurrency: 4,
  maxCopies: 5
}

export const isScalingOff = (s: PolicyChoice | string): boolean => (typeof s === "string" ? s : s.name) === "none"

/** How a policy choice is named in results: its name, plus its options when it has any. */
export const policyLabel = (choice: PolicyChoice | string): string => {
  if (typeof choice === "string") return choice
  const opts = Object.entries(choice.options ?? {})
  return opts.length === 0 ? choice.name : `${choice.name}(${opts.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")})`
}
