import { resolve } from "node:path"
import { Effect, Layer } from "effect"
import { buildPolicy, evictionLayer, formatBytes, policyRng } from "@meshkit/core"
import { ConfigReload, configReloadLayer, reloadOnSighup } from "./config/reload.js"
import { Config, grpcPortOf, type ServerConfig } from "./config/config.js"
import { ModelManagerLive } from "./instance/live.js"
import { ModelManager } from "./instance/model-manager.js"
import { effectLoggerLayer, logLayer, type Log } from "./observability/log.js"
import { ServerMetrics } from "./observability/metrics.js"
import { spansLayer } from "./observability/spans.js"
import { ModelRegistryLive } from "./registry/live.js"
import { VModelsLive } from "./registry/vmodels.js"
import { ModelRuntimesLive } from "./runtimes/index.js"
import { Serving, ServingLive } from "./serving/infer.js"
import { ServerState } from "./serving/server-state.js"
import { GrpcListener, GrpcServerLive } from "./transport/grpc/server.js"
import { HttpListener, HttpServerLive } from "./transport/http/server.js"
import { clusterBaseLayer, ClusterNodeLive } from "./cluster/node.js"
import { ClusterModelRegistryLive, SharedRegistryFollowerLive } from "./cluster/registry-bridge.js"
import { TenantsLive } from "./tenancy/live.js"
import { TlsLive } from "./tenancy/tls.js"

/**
 * The server as one Layer graph: config → log, metrics, state, runtimes, eviction policy →
 * registry → this instance's models → vmodels → the serving use case → HTTP + gRPC listeners.
 * Closing the scope tears it down in reverse: listeners drain, then the models unload, then
 * the runtimes close.
 */
export const serverLayer = (config: ServerConfig, log: Log) => {
  const base = Layer.mergeAll(
    Layer.succeed(Config, config),
    configReloadLayer(config),
    logLayer(log),
    Layer.sync(ServerMetrics, () => new ServerMetrics({ modelMetrics: config.modelMetrics, tenantMetrics: config.tenants !== undefined })),
    Layer.sync(ServerState, () => new ServerState()),
    evictionLayer(config.eviction),
    ModelRuntimesLive(config),
    spansLayer({
      endpoint: config.otlpEndpoint,
      resource: { "service.name": "meshkit", "service.instance.id": config.instanceId ?? `${config.host}:${config.port}` },
      onError: (message) => log.warn(message)
    })
  ).pipe(Layer.provideMerge(Layer.mergeAll(TenantsLive, TlsLive).pipe(Layer.provide(Layer.succeed(Config, config)))))
  const listeners = Layer.mergeAll(HttpServerLive, GrpcServerLive)
  if (config.etcd === undefined) {
    return listeners.pipe(
      Layer.provideMerge(ServingLive),
      Layer.provideMerge(VModelsLive),
      Layer.provideMerge(ModelManagerLive),
      Layer.provideMerge(ModelRegistryLive),
      Layer.provideMerge(base),
      Layer.provide(effectLoggerLayer(log, config.logLevel))
    )
  }
  // Cluster mode: the shared registry on etcd under everything; this instance joins once it listens.
  return ClusterNodeLive.pipe(
    Layer.provideMerge(listeners),
    Layer.provideMerge(ServingLive),
    Layer.provideMerge(Layer.merge(VModelsLive, SharedRegistryFollowerLive)),
    Layer.provideMerge(ModelManagerLive),
    Layer.provideMerge(ClusterModelRegistryLive),
    Layer.provideMerge(clusterBaseLayer(config)),
    Layer.provideMerge(base),
    Layer.provide(effectLoggerLayer(log, config.logLevel))
  )
}

export interface ReadyInfo {
  /** "https" with --tls-cert */
  readonly scheme?: "http" | "https"
  readonly host: string
  readonly port: number
  readonly grpcPort: number | null
  readonly models: number
  readonly memoryBytes: number
  readonly eviction: string
}

/** The line `meshkit serve` prints on stdout once both listeners accept (benches parse it). */
export const readyLine = (r: ReadyInfo): string =>
  `meshkit serve: listening ${r.scheme ?? "http"}://${r.host}:${r.port} grpc ${r.grpcPort === null ? "off" : `${r.host}:${r.grpcPort}`} (${r.models} models, memory ${formatBytes(r.memoryBytes)})`

export interface RunOptions {
  /** the configuration resolved again from its sources: given, SIGHUP reloads it (config/reload.ts) */
  readonly reread?: () => Promise<ServerConfig>
}

/** Run until interrupted; `onReady` fires once everything listens. */
export const runServer = (config: ServerConfig, log: Log, onReady: (r: ReadyInfo) => void, options: RunOptions = {}) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { state, http, grpc, manager, reload, serving } = yield* Effect.all({
        state: ServerState,
        http: HttpListener,
        grpc: GrpcListener,
        manager: ModelManager,
        reload: ConfigReload,
        serving: Serving
      }).pipe(Effect.provide(yield* Layer.build(serverLayer(config, log))))
      // What a reload can change while serving; everything else is reported as needing a restart.
      reload.subscribe("eviction", ["eviction"], (next) => {
        // seeded as at start (evictionLayer's default seed), so a reload to the same policy decides the same
        manager.replaceEvictionPolicy((capacityBytes, traffic) =>
          buildPolicy("eviction", next.eviction, { rng: policyRng(1, "eviction"), capacityBytes, ...(traffic !== undefined ? { cluster: traffic } : {}) })
        )
        log.info("eviction policy replaced; residents kept, ordered by last use", { eviction: manager.policyName })
      })
      reload.subscribe("debug delay", ["debugDelayMs"], (next) => {
        serving.replyDelayMs = next.debugDelayMs
      })
      // The tenants file is read at start only: say so plainly rather than let an edit look applied.
      if (config.tenants !== undefined) {
        reload.onEveryReload("tenants", () => log.warn("the tenants file is read at start only: restart to apply changes to it", { tenants: config.tenants }))
      }
      if (options.reread !== undefined) yield* reloadOnSighup(reload, options.reread, log)
      // Runs first on shutdown (finalizers run in reverse): hand work over (cluster mode) while
      // still serving, then stop answering ready and refuse new work.
      yield* Effect.addFinalizer(() =>
        Effect.promise(async () => {
          for (const hook of state.beforeDrain) await hook().catch((e: unknown) => log.warn("drain hook failed", { error: String(e) }))
          state.draining = true
        })
      )
      state.ready = true
      const info: ReadyInfo = {
        scheme: http.scheme,
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
