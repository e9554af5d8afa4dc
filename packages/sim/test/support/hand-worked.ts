import { defaultCluster, type ClusterConfig, type SimConfig } from "@meshkit/sim"

/**
 * The cluster the hand-worked full-mode tests reason about: one instance of 100 bytes, a
 * bandwidth of 1000 bytes/s so that a model of N bytes loads in N ms (no fixed part), free
 * unloads, and execution times from the trace (constant 0 otherwise).
 */
export const handCluster = (over: Partial<ClusterConfig> = {}): ClusterConfig => ({
  ...defaultCluster,
  instances: 1,
  memoryBytes: 100,
  maxConcurrentLoads: 2,
  loadFixedMs: 0,
  loadBytesPerSecond: 1000,
  unloadMs: 0,
  exec: { kind: "constant", ms: 0 },
  modelConcurrency: 4,
  maxCopies: 1,
  ...over
})

/** Full mode on `c` with lru, ModelMesh placement, least-in-flight routing, no scaling, seed 1. */
export const fullMode = (c: ClusterConfig, over: Partial<SimConfig> = {}): SimConfig => ({
  mode: "full",
  cluster: c,
  eviction: "lru",
  placement: "modelmesh",
  routing: "least-in-flight",
  scaling: "none",
  seed: 1,
  sloMs: 1000,
  ...over
})
