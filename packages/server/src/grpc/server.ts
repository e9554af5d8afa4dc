import * as grpc from "@grpc/grpc-js"
import { Context, Effect, Layer } from "effect"
import { Manager, type ModelEntry } from "../cache/model-manager.js"
import { Config, grpcPortOf } from "../config.js"
import { BadRequest, ModelNotFound } from "../errors.js"
import { platformOf } from "../http/data-plane.js"
import { httpErrorOf } from "../http/errors.js"
import { ListenError } from "../http/server.js"
import { ServerLog } from "../log.js"
import { Metrics } from "../metrics.js"
import {
  decodeModelInferRequest,
  encodeModelInferResponse,
  GRPC_MAX_MESSAGE_BYTES,
  loadGrpcDefinition,
  type GrpcModelInferRequest
} from "../protocol/index.js"
import { repositoryIndex } from "../repository-index.js"
import { EXTENSIONS, MODEL_VERSION, SERVER_NAME, SERVER_VERSION, State } from "../server-state.js"
import { VModels } from "../vmodels.js"

/** Where the gRPC listener ended up; null when disabled (--grpc-port off). */
export class GrpcListener extends Context.Tag("meshkit/server/GrpcListener")<GrpcListener, { readonly port: number | null }>() {}

/** HTTP status → gRPC status code, so both front ends report a failure the same way. */
const grpcCodeOf = (status: number): grpc.status =>
  status === 400 ? grpc.status.INVALID_ARGUMENT
  : status === 404 ? grpc.status.NOT_FOUND
  : status === 409 ? grpc.status.ALREADY_EXISTS
  : status === 413 || status === 429 || status === 507 ? grpc.status.RESOURCE_EXHAUSTED
  : status === 502 || status === 503 ? grpc.status.UNAVAILABLE
  : grpc.status.INTERNAL

type Callback = (err: grpc.ServiceError | null, value?: unknown) => void
type Call = { request: any; metadata: grpc.Metadata }

/**
 * inference.GRPCInferenceService (KServe v2 gRPC, plus Triton's repository RPCs) on
 * @grpc/grpc-js, sharing the model manager with the REST data plane. `mm-model-id` /
 * `mm-vmodel-id` metadata (ModelMesh's routing headers) override model_name when present.
 */
export const GrpcServerLive = Layer.scoped(
  GrpcListener,
  Effect.gen(function* () {
    const config = yield* Config
    const port = grpcPortOf(config)
    if (port === null) return { port: null }
    const manager = yield* Manager
    const vmodels = yield* VModels
    const metrics = yield* Metrics
    const log = yield* ServerLog
    const state = yield* State
    const def = loadGrpcDefinition()

    const fail = (cb: Callback, err: unknown, model?: ModelEntry, t0?: number): void => {
      const h = httpErrorOf(err)
      if (h.status === 500) log.error("grpc request failed", { error: err as Error })
      if (model && t0 !== undefined) observe(model, h.status, t0)
      const e = Object.assign(new Error(h.message), { code: grpcCodeOf(h.status), details: h.message, metadata: new grpc.Metadata() })
      cb(e as grpc.ServiceError)
    }
    const observe = (e: ModelEntry, status: number, t0: number) => {
      metrics.observeRequest(metrics.forModel(e.id, String(status)), (performance.now() - t0) / 1000)
    }
    const nameOf = (call: Call, field: string): string => {
      const mm = call.metadata.get("mm-vmodel-id")[0] ?? call.metadata.get("mm-model-id")[0]
      return mm !== undefined ? String(mm) : String(call.request?.[field] ?? "")
    }
    const entryOf = (name: string, version: string | undefined): ModelEntry => {
      if (version !== undefined && version !== "" && version !== MODEL_VERSION) {
        throw new ModelNotFound({ message: `model "${name}" has no version "${version}" (only ${MODEL_VERSION})` })
      }
      if (name === "") throw new BadRequest({ message: "model name is required" })
      const e = manager.lookup(vmodels.resolve(name) ?? name)
      if (!e) throw new ModelNotFound({ message: `model "${name}" is not registered` })
      return e
    }
    const draining = (cb: Callback): boolean => {
      if (!state.draining) return false
      cb(Object.assign(new Error("server is shutting down"), { code: grpc.status.UNAVAILABLE }) as grpc.ServiceError)
      return true
    }

    const impl: grpc.UntypedServiceImplementation = {
      ServerLive: (_call: Call, cb: Callback) => cb(null, { live: true }),
      ServerReady: (_call: Call, cb: Callback) => cb(null, { ready: state.ready && !state.draining }),
      ServerMetadata: (_call: Call, cb: Callback) => cb(null, { name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS }),
      ModelReady: (call: Call, cb: Callback) => {
        try {
          const e = entryOf(nameOf(call, "name"), call.request.version)
          cb(null, { ready: e.phase === "loaded" })
        } catch (err) {
          fail(cb, err)
        }
      },
      ModelMetadata: (call: Call, cb: Callback) => {
        if (draining(cb)) return
        let e: ModelEntry
        const name = nameOf(call, "name")
        try {
          e = entryOf(name, call.request.version)
        } catch (err) {
          return fail(cb, err)
        }
        const answer = () =>
          cb(null, {
            name,
            versions: [MODEL_VERSION],
            platform: platformOf(e.record.format),
            inputs: e.io!.inputs.map((m) => ({ name: m.name, datatype: m.datatype, shape: [...m.shape] })),
            outputs: e.io!.outputs.map((m) => ({ name: m.name, datatype: m.datatype, shape: [...m.shape] }))
          })
        if (e.io) return answer()
        manager.ensureLoaded(e, true).then(answer, (err) => fail(cb, err))
      },
      ModelInfer: (call: Call, cb: Callback) => {
        if (draining(cb)) return
        const t0 = performance.now()
        const req = call.request as GrpcModelInferRequest
        const name = nameOf(call, "model_name")
        let e: ModelEntry
        try {
          e = entryOf(name, req.model_version)
        } catch (err) {
          return fail(cb, err)
        }
        const loaded = manager.tryAcquire(e)
        const ready = loaded !== undefined ? Promise.resolve(loaded) : manager.acquire(e)
        ready.then(
          async (m) => {
            try {
              const r = decodeModelInferRequest(req, m.inputs)
              const outputs = await m.infer(r.inputs, r.outputs?.map((o) => o.name))
              const response = encodeModelInferResponse(name, MODEL_VERSION, r.id, outputs, r.binaryOutput)
              observe(e, 200, t0)
              cb(null, response)
            } catch (err) {
              fail(cb, err, e, t0)
            } finally {
              manager.release(e)
            }
          },
          (err) => fail(cb, err, e, t0)
        )
      },
      RepositoryIndex: (call: Call, cb: Callback) => cb(null, { models: repositoryIndex(manager, call.request?.ready === true) }),
      RepositoryModelLoad: (call: Call, cb: Callback) => {
        if (draining(cb)) return
        let e: ModelEntry
        try {
          e = entryOf(String(call.request?.model_name ?? ""), undefined)
        } catch (err) {
          return fail(cb, err)
        }
        manager.ensureLoaded(e, true).then(
          () => cb(null, {}),
          (err) => fail(cb, err)
        )
      },
      RepositoryModelUnload: (call: Call, cb: Callback) => {
        let e: ModelEntry
        try {
          e = entryOf(String(call.request?.model_name ?? ""), undefined)
        } catch (err) {
          return fail(cb, err)
        }
        manager.unload(e).then(
          () => cb(null, {}),
          (err) => fail(cb, err)
        )
      }
    }

    const server = new grpc.Server({
      "grpc.max_receive_message_length": Math.min(GRPC_MAX_MESSAGE_BYTES, config.maxBodySize),
      "grpc.max_send_message_length": GRPC_MAX_MESSAGE_BYTES
    })
    server.addService(def.GRPCInferenceService.service, impl)
    const bound = yield* Effect.acquireRelease(
      Effect.async<number, ListenError>((resume) => {
        server.bindAsync(`${config.host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, actual) => {
          if (err) resume(Effect.fail(new ListenError({ message: `cannot listen for gRPC on ${config.host}:${port}: ${err.message}` })))
          else resume(Effect.succeed(actual))
        })
      }),
      () =>
        Effect.async<void>((resume) => {
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
