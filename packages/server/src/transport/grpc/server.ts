import * as grpc from "@grpc/grpc-js"
import { Context, Effect, Layer } from "effect"
import { Config, grpcPortOf } from "../../config/config.js"
import { ListenError, Unavailable } from "../../errors.js"
import type { ModelEntry } from "../../instance/model-entry.js"
import { Log } from "../../observability/log.js"
import { Serving } from "../../serving/infer.js"
import { EXTENSIONS, SERVER_NAME, SERVER_VERSION, ServerState } from "../../serving/server-state.js"
import { GRPC_MAX_MESSAGE_BYTES, loadGrpcDefinition, loadHealthDefinition, type GrpcModelInferRequest } from "../kserve-v2/index.js"
import { grpcErrorOf } from "./errors.js"
import { forwardingServiceDefinition } from "./forwarded.js"
import { makeHealthService } from "./health.js"
import { type Callback, transportPicker } from "./infer-transport.js"
import { modelConfigHandlers } from "./model-config.js"
import { addReflection } from "./reflection.js"
import { repositoryHandlers } from "./repository.js"
import { makeStreamInfer } from "./stream-infer.js"

/** Where the gRPC listener ended up; null when disabled (--grpc-port off). Its own service tag. */
export class GrpcListener extends Context.Tag("meshkit/server/GrpcListener")<GrpcListener, { readonly port: number | null }>() {}

type Call = { request: any; metadata: grpc.Metadata }

/**
 * inference.GRPCInferenceService (KServe v2 gRPC, plus Triton's repository, streaming,
 * configuration and statistics RPCs) on @grpc/grpc-js, calling the same use case as the REST
 * data plane; beside it grpc.health.v1.Health (./health.ts) and server reflection
 * (./reflection.ts). `mm-model-id` / `mm-vmodel-id` metadata (ModelMesh's routing headers)
 * override model_name when present.
 */
export const GrpcServerLive = Layer.scoped(
  GrpcListener,
  Effect.gen(function* () {
    const config = yield* Config
    const port = grpcPortOf(config)
    if (port === null) return { port: null }
    const serving = yield* Serving
    const log = yield* Log
    const state = yield* ServerState
    const def = loadGrpcDefinition()

    const fail = (cb: Callback, err: unknown, model?: string): void => {
      serving.noteFailure(err, model)
      cb(grpcErrorOf(err))
    }
    const nameIn = (metadata: grpc.Metadata, request: any, field: string): string => {
      const mm = metadata.get("mm-vmodel-id")[0] ?? metadata.get("mm-model-id")[0]
      return mm !== undefined ? String(mm) : String(request?.[field] ?? "")
    }
    const nameOf = (call: Call, field: string): string => nameIn(call.metadata, call.request, field)
    const draining = (cb: Callback): boolean => {
      if (!state.draining) return false
      cb(grpcErrorOf(new Unavailable({ message: "server is shutting down" })))
      return true
    }

    const transport = transportPicker(() => state.cluster)
    const health = makeHealthService(state)

    const impl: grpc.UntypedServiceImplementation = {
      ServerLive: (_call: Call, cb: Callback) => cb(null, { live: true }),
      ServerReady: (_call: Call, cb: Callback) => cb(null, { ready: state.serving }),
      ServerMetadata: (_call: Call, cb: Callback) => cb(null, { name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS }),
      ModelReady: (call: Call, cb: Callback) => {
        try {
          cb(null, { ready: serving.isReady(serving.lookup(nameOf(call, "name"), call.request.version)) })
        } catch (err) {
          fail(cb, err)
        }
      },
      ModelMetadata: (call: Call, cb: Callback) => {
        if (draining(cb)) return
        const name = nameOf(call, "name")
        let e: ModelEntry
        try {
          e = serving.lookup(name, call.request.version)
        } catch (err) {
          return fail(cb, err)
        }
        serving.metadata(e, name).then(
          (m) => cb(null, m),
          (err) => fail(cb, err, name)
        )
      },
      ModelInfer: (call: Call, cb: Callback) => {
        if (draining(cb)) return
        const t0 = performance.now()
        const request = call.request as GrpcModelInferRequest
        const name = nameOf(call, "model_name")
        let e: ModelEntry
        try {
          e = serving.lookup(name, request.model_version)
        } catch (err) {
          cb(grpcErrorOf(err))
          serving.rejected(undefined, err, t0)
          return
        }
        serving.infer(transport(), { request, cb, name }, e, t0)
      },
      ModelStreamInfer: makeStreamInfer({ serving, state, transport, nameOf: (md, r: GrpcModelInferRequest) => nameIn(md, r, "model_name") }),
      ...modelConfigHandlers({ serving, nameOf, fail, draining }),
      RepositoryIndex: (call: Call, cb: Callback) => cb(null, { models: serving.repositoryIndex(call.request?.ready === true) }),
      ...repositoryHandlers({ serving, fail, draining })
    }

    const server = new grpc.Server({
      "grpc.max_receive_message_length": Math.min(GRPC_MAX_MESSAGE_BYTES, config.maxBodySize),
      "grpc.max_send_message_length": GRPC_MAX_MESSAGE_BYTES
    })
    // Cluster mode keeps each ModelInfer request's bytes, to forward them unchanged.
    server.addService(config.etcd !== undefined ? forwardingServiceDefinition() : def.GRPCInferenceService.service, impl)
    server.addService(loadHealthDefinition().Health.service, health.impl)
    addReflection(server)
    const bound = yield* Effect.acquireRelease(
      Effect.async<number, ListenError>((resume) => {
        server.bindAsync(`${config.host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, actual) => {
          if (err) resume(Effect.fail(new ListenError({ message: `cannot listen for gRPC on ${config.host}:${port}: ${err.message}` })))
          else resume(Effect.succeed(actual))
        })
      }),
      () =>
        Effect.async<void>((resume) => {
          // Watchers hear NOT_SERVING and their streams end, so they do not hold up the drain.
          health.close()
          const timer = setTimeout(() => {
            log.warn("grpc drain timeout: cancelling calls in flight")
            server.forceShutdown()
            resume(Effect.void)
          }, config.drainTimeout)
          server.tryShutdown(() => {
            clearTimeout(timer)
            log.info("grpc closed")
            resume(Effect.void)
          })
        })
    )
    return { port: bound }
  })
)
