import { join } from "node:path"
import { Effect, Layer, Option } from "effect"
import { type BatchingPolicy, dynamicBatching, Eviction } from "@meshkit/core"
import { Config, type ServerConfig } from "../config/config.js"
import { Log } from "../observability/log.js"
import { ServerMetrics } from "../observability/metrics.js"
import { ModelRegistry, type ModelRecord } from "../registry/registry.js"
import { resolveSource } from "../registry/sources.js"
import { sourceRulesOf } from "../registry/source-rules.js"
import { ModelRuntimes } from "../runtimes/index.js"
import { ServerState } from "../serving/server-state.js"
import { ModelManager } from "./model-manager.js"
import { glibcTrim, HeapGovernor } from "./native-heap.js"
import { Tenants } from "../tenancy/tenants.js"

/**
 * This instance's models, built from the configuration with every registered model known (not
 * loaded, except pinned ones and minCopies ≥ 1, which on one server means "keep a copy"; in
 * cluster mode those are placed by the leader, see below). When
 * the scope closes every model is unloaded, after the listeners have drained.
 */
export const ModelManagerLive = Layer.scoped(
  ModelManager,
  Effect.gen(function* () {
    const config = yield* Config
    const log = yield* Log
    const metrics = yield* ServerMetrics
    const runtimes = yield* ModelRuntimes
    const eviction = yield* Eviction
    const registry = yield* ModelRegistry
    const tenants = yield* Tenants
    const downloadDir = join(config.dataDir, "downloads")
    const heap = heapGovernor(config, metrics, log)
    const manager = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new ModelManager({
            capacityBytes: config.memory,
            policy: eviction.make(config.memory),
            policyFor: (bytes, traffic) => eviction.make(bytes, traffic),
            // standalone: this server's requests are all the traffic there is (in a cluster they are routed)
            ownTraffic: config.etcd === undefined,
            runtimes,
            metrics,
            log,
            maxConcurrentLoads: config.maxConcurrentLoads,
            loadQueueLimit: config.loadQueueLimit,
            loadTimeoutMs: config.loadTimeout,
            modelConcurrency: config.modelConcurrency,
            queueLimit: config.queueLimit,
            failureMemoryMs: config.failureMemory,
            expireIntervalMs: config.expireInterval,
            ...(tenants.enabled ? { priorityOf: (t: string) => tenants.priorityOf(t), shares: tenants.shares } : {}),
            batchingFor: batchingFor(config),
            ...(heap ? { heap } : {}),
            // URL sources: fetch again if the cached file went missing.
            resolvePath: (r) => (/^https?:/i.test(r.uri) ? sourceRulesOf(config).then((rules) => resolveSource(r, downloadDir, rules)) : Promise.resolve(r.path))
          })
      ),
      (m) =>
        Effect.promise(async () => {
          log.info("unloading models")
          await m.close(config.drainTimeout)
        })
    )
    // A remote runtime that is unreachable makes this server not ready (503 on /v2/health/ready,
    // gRPC ServerReady false), as a ModelMesh pod is not ready while its runtime container is not.
    const state = yield* Effect.serviceOption(ServerState)
    if (Option.isSome(state)) {
      for (const rt of runtimes.all) {
        if (rt.health) state.value.readinessChecks.push(() => rt.health!())
      }
    }
    // Cluster mode loads nothing here at start: this instance is not a member yet, so a load
    // could not claim its copy, and the copies may already be elsewhere. The leader's minCopies
    // chore places pinned and minCopies models, each copy claimed (cluster/copy-keeper.ts).
    const keepAtStart = config.etcd === undefined
    for (const r of registry.all()) {
      const e = manager.register(r)
      if (keepAtStart && (r.pinned || r.minCopies > 0)) manager.ensureLoaded(e, false).catch(() => undefined)
    }
    return manager
  })
)

/**
 * The line is drawn now, with the runtimes started and no model loaded: this process as it is,
 * plus the model budget, plus the slack.
 */
const heapGovernor = (config: ServerConfig, metrics: ServerMetrics, log: Log): HeapGovernor | undefined => {
  if (!config.heapTrim) return undefined
  const trim = glibcTrim()
  if (typeof trim === "string") {
    log.warn(`${trim}: resident memory may stay above --memory after unloads`)
    return undefined
  }
  const baseline = process.memoryUsage.rss()
  return new HeapGovernor({
    rss: () => process.memoryUsage.rss(),
    trim,
    limitBytes: baseline + config.memory + config.heapSlack,
    onTrim: (released, ms) => {
      metrics.heapTrims.inc()
      metrics.heapTrimmedBytes.inc(released)
      log.debug("native heap trimmed", { releasedBytes: released, ms: Math.round(ms * 100) / 100 })
    }
  })
}

/**
 * A model's batching policy: its own settings over the server's defaults; none when the
 * resulting batch size is 1 (batching off, the default).
 */
const batchingFor = (config: ServerConfig) => (r: ModelRecord): BatchingPolicy | undefined => {
  const b = r.batching
  const maxBatchSize = b?.maxBatchSize ?? config.maxBatchSize
  if (maxBatchSize <= 1) return undefined
  return dynamicBatching({
    maxBatchSize,
    maxBatchDelayMs: b?.maxBatchDelayMs ?? config.maxBatchDelay,
    preferredBatchSizes: b?.preferredBatchSizes ?? [],
    maxConcurrentBatches: 1
  })
}
