import { join, resolve } from "node:path"
import { Context, Effect, Layer } from "effect"
import { Eviction, evictionLayer, formatBytes } from "@meshkit/core"
import { Manager, ModelManager } from "./cache/model-manager.js"
import { Config, grpcPortOf, type ServerConfig } from "./config.js"
import { GrpcListener, GrpcServerLive } from "./grpc/server.js"
import { HttpListener, HttpServerLive } from "./http/server.js"
import { effectLoggerLayer, logLayer, ServerLog, type Log } from "./log.js"
import { Metrics, ServerMetrics } from "./metrics.js"
import { ModelRegistry, Registry } from "./registry/registry.js"
import { resolveSource, scanModelsDir } from "./registry/sources.js"
import { runtimeLayer } from "./runtime-layer.js"
import { ModelRuntimeService as Runtime } from "./runtime/service.js"
import { ServerState, State } from "./server-state.js"
import { VModelManager, VModels } from "./vmodels.js"

/**
 * The server as one Layer graph: config → log, metrics, runtime, eviction policy → registry →
 * model manager → vmodels → HTTP + gRPC listeners. Closing the scope tears it down in reverse:
 * listeners drain, then the manager unloads every model.
 */

const RegistryLive = Layer.effect(
  Registry,
  Effect.gen(function* () {
    const config = yield* Config
    const log = yield* ServerLog
    const registry = yield* Effect.tryPromise({
      try: () => ModelRegistry.open(join(config.dataDir, "registry.json")),
      catch: (e) => new Error(`cannot open the registry: ${(e as Error).message}`)
    })
    if (config.models !== undefined) {
      const dir = config.models
      const found = yield* Effect.tryPromise({ try: () => scanModelsDir(dir, log), catch: (e) => e as Error })
      for (const r of found) yield* Effect.try({ try: () => registry.addFromDirectory(r), catch: (e) => e as Error })
      log.info("models directory scanned", { dir: resolve(dir), models: found.length })
    }
    return registry
  })
)

const ManagerLive = Layer.scoped(
  Manager,
  Effect.gen(function* () {
    const config = yield* Config
    const log = yield* ServerLog
    const metrics = yield* Metrics
    const runtime = yield* Runtime
    const eviction = yield* Eviction
    const registry = yield* Registry
    const downloadDir = join(config.dataDir, "downloads")
    const manager = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new ModelManager({
            capacityBytes: config.memory,
            policy: eviction.make(config.memory),
            runtime,
            metrics,
            log,
            maxConcurrentLoads: config.maxConcurrentLoads,
            loadQueueLimit: config.loadQueueLimit,
            loadTimeoutMs: config.loadTimeout,
            modelConcurrency: config.modelConcurrency,
            queueLimit: config.queueLimit,
            failureMemoryMs: config.failureMemory,
            expireIntervalMs: config.expireInterval,
            // URL sources: fetch again if the cached file went missing.
            resolvePath: (r) => (/^https?:/i.test(r.uri) ? resolveSource(r, downloadDir, config.downloadTimeout) : Promise.resolve(r.path))
          })
      ),
      (m) =>
        Effect.promise(async () => {
          log.info("unloading models")
          await m.close(config.drainTimeout)
        })
    )
    for (const r of registry.all()) {
      const e = manager.register(r)
      // Pinned models (and minCopies ≥ 1: on one server, "keep a copy") load at start.
      if (r.pinned || r.minCopies > 0) manager.ensureLoaded(e, false).catch(() => undefined)
    }
    return manager
  })
)

const VModelsLive = Layer.effect(
  VModels,
  Effect.gen(function* () {
    const v = new VModelManager(yield* Registry, yield* Manager, yield* ServerLog)
    v.resume()
    return v
  })
)

export const serverLayer = (config: ServerConfig, log: Log) => {
  const base = Layer.mergeAll(
    Layer.succeed(Config, config),
    logLayer(log),
    Layer.sync(Metrics, () => new ServerMetrics()),
    Layer.sync(State, () => new ServerState()),
    evictionLayer(config.eviction),
    runtimeLayer(config)
  )
  return Layer.mergeAll(HttpServerLive, GrpcServerLive).pipe(
    Layer.provideMerge(VModelsLive),
    Layer.provideMerge(ManagerLive),
    Layer.provideMerge(RegistryLive),
    Layer.provideMerge(base),
    Layer.provide(effectLoggerLayer(log, config.logLevel))
  )
}

export interface ReadyInfo {
  readonly host: string
  readonly port: number
  readonly grpcPort: number | null
  readonly models: number
  readonly memoryBytes: number
  readonly eviction: string
}

/** The line `meshkit serve` prints on stdout once both listeners accept (benches parse it). */
export const readyLine = (r: ReadyInfo): string =>
  `meshkit serve: listening http://${r.host}:${r.port} grpc ${r.grpcPort === null ? "off" : `${r.host}:${r.grpcPort}`} (${r.models} models, memory ${formatBytes(r.memoryBytes)})`

/** Run until interrupted; `onReady` fires once everything listens. */
export const runServer = (config: ServerConfig, log: Log, onReady: (r: ReadyInfo) => void) =>
  Effect.scoped(
    Effect.gen(function* () {
      const ctx = yield* Layer.build(serverLayer(config, log))
      const state = Context.get(ctx, State)
      const http = Context.get(ctx, HttpListener)
      const grpc = Context.get(ctx, GrpcListener)
      const manager = Context.get(ctx, Manager)
      // Runs first on shutdown (finalizers run in reverse): stop answering ready, refuse new work.
      yield* Effect.addFinalizer(() => Effect.sync(() => (state.draining = true)))
      state.ready = true
      const info: ReadyInfo = {
        host: http.host,
        port: http.port,
        grpcPort: grpc.port,
        models: manager.size,
        memoryBytes: manager.capacityBytes,
        eviction: manager.policyName
      }
      log.info("ready", { ...info, grpcConfigured: grpcPortOf(config), dataDir: resolve(config.dataDir) })
      onReady(info)
      return yield* Effect.never
    })
  )
