import * as grpc from "@grpc/grpc-js"
import { Context, Effect, Layer } from "effect"
import { Config, grpcPortOf } from "../../config/config.js"
import { ListenError, Unavailable } from "../../errors.js"
import type { ModelEntry } from "../../instance/model-entry.js"
import { Log } from "../../observability/log.js"
import { makeAccessLog, type AccessLog } from "../../observability/access-log.js"
import { REQUEST_ID_HEADER, requestIdOf } from "../../observability/request-id.js"
import { SPAN_KIND, Spans, type SpanBuffer } from "../../observability/spans.js"
import { nowMs, startSpan, traceFields, type TraceContext } from "../../observability/trace-context.js"
import { Serving } from "../../serving/infer.js"
import { EXTENSIONS, SERVER_NAME, SERVER_VERSION, ServerState } from "../../serving/server-state.js"
import { grpcPrincipal } from "../../tenancy/grpc-auth.js"
import { UNAUTHENTICATED } from "../../tenancy/errors.js"
import { type Principal, Tenants } from "../../tenancy/tenants.js"
import { Tls } from "../../tenancy/tls.js"
import { GRPC_MAX_MESSAGE_BYTES, loadGrpcDefinition, loadHealthDefinition, type GrpcModelInferRequest } from "../kserve-v2/index.js"
import { grpcErrorOf, tolerantService } from "./errors.js"
import { forwardingServiceDefinition } from "./forwarded.js"
import { makeHealthService } from "./health.js"
import { type Callback, transportPicker } from "./infer-transport.js"
import { modelConfigHandlers } from "./model-config.js"
import { addReflection } from "./reflection.js"
import { repositoryHandlers } from "./repository.js"
import { makeStreamInfer } from "./stream-infer.js"

/** Where the gRPC listener ended up; null when disabled (--grpc-port off). Its own service tag. */
export class GrpcListener extends Context.Tag("meshkit/server/GrpcListener")<GrpcListener, { readonly port: number | null }>() {}

type Call = { request: any; metadata: grpc.Metadata; sendMetadata?: (m: grpc.Metadata) => void }

/** The call's request id (the client's valid `x-request-id` metadata, else a new one), sent back in the response's initial metadata. */
const requestIdFor = (call: Call): string => {
  const id = requestIdOf(call.metadata.get(REQUEST_ID_HEADER)[0])
  if (call.sendMetadata !== undefined) {
    const md = new grpc.Metadata()
    md.set(REQUEST_ID_HEADER, id)
    call.sendMetadata(md)
  }
  return id
}

/** A ModelInfer callback that also writes the access log line and records the server span. */
const observed = (
  done: Callback,
  o: { requestId: string; trace: TraceContext | undefined; name: string; t0: number; call: Call; spans: SpanBuffer; accessLog: AccessLog | undefined }
): Callback => (err, value) => {
  const code = err === null ? grpc.status.OK : (err.code ?? grpc.status.UNKNOWN)
  const from = o.call.metadata.get("x-meshkit-from")[0]
  if (o.accessLog !== undefined) {
    o.accessLog.write({
      requestId: o.requestId,
      traceId: o.trace?.traceId,
      spanId: o.trace?.spanId,
      method: "ModelInfer",
      path: undefined,
      model: o.name,
      status: grpc.status[code] ?? String(code),
      durationUs: Math.round((performance.now() - o.t0) * 1000),
      bytesIn: undefined,
      bytesOut: Buffer.isBuffer(value) ? value.byteLength : undefined,
      transport: "grpc",
      forwardedFrom: from === undefined ? undefined : String(from)
    })
  }
  if (o.trace !== undefined && o.spans.enabled) {
    o.spans.record({
      trace: o.trace,
      name: "inference.GRPCInferenceService/ModelInfer",
      kind: SPAN_KIND.server,
      endMs: nowMs(),
      error: err === null ? undefined : err.details || err.message,
      attributes: { "rpc.system": "grpc", "rpc.method": "ModelInfer", "rpc.grpc.status_code": code, "meshkit.model": o.name, "meshkit.request_id": o.requestId }
    })
  }
  done(err, value)
}

/**
 * inference.GRPCInferenceService (KServe v2 gRPC, plus Triton's repository, streaming,
 * configuration and statistics RPCs) on @grpc/grpc-js, calling the same use case as the REST
 * data plane; beside it grpc.health.v1.Health (./health.ts) and server reflection
 * (./reflection.ts). `mm-model-id` / `mm-vmodel-id` metadata (ModelMesh's routing headers)
 * override model_name when present. With a tenants file every call but the health checks needs
 * `authorization: Bearer <token>` metadata.
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
    const tenants = yield* Tenants
    const tls = yield* Tls
    const spans = yield* Spans
    const accessLog = config.accessLog ? makeAccessLog() : undefined

    const fail = (cb: Callback, err: unknown, model?: string, requestId?: string): void => {
      serving.noteFailure(err, model, { requestId })
      cb(grpcErrorOf(err, requestId))
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

    // Each handler but the health checks starts with the caller's principal (an interceptor in effect).
    type Handler = (call: Call, cb: Callback, p: Principal) => void
    const authed = (h: Handler) => (call: Call, cb: Callback) => {
      const p = grpcPrincipal(tenants, call.metadata)
      if (p === undefined) return cb(grpcErrorOf(UNAUTHENTICATED))
      h(call, cb, p)
    }

    const impl: grpc.UntypedServiceImplementation = {
      ServerLive: (_call: Call, cb: Callback) => cb(null, { live: true }),
      ServerReady: (_call: Call, cb: Callback) => cb(null, { ready: state.serving }),
      ServerMetadata: authed((_call, cb) => cb(null, { name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS })),
      ModelReady: authed((call, cb, p) => {
        try {
          cb(null, { ready: serving.isReady(serving.lookup(nameOf(call, "name"), call.request.version, p)) })
        } catch (err) {
          fail(cb, err)
        }
      }),
      ModelMetadata: authed((call, cb, p) => {
        if (draining(cb)) return
        const name = nameOf(call, "name")
        let e: ModelEntry
        try {
          e = serving.lookup(name, call.request.version, p)
        } catch (err) {
          return fail(cb, err)
        }
        serving.metadata(e, name).then(
          (m) => cb(null, m),
          (err) => fail(cb, err, name)
        )
      }),
      ModelInfer: authed((call, done, p) => {
        const requestId = requestIdFor(call)
        const tp = call.metadata.get("traceparent")[0]
        const trace = tp !== undefined || spans.enabled ? startSpan(tp, spans.enabled) : undefined
        const t0 = performance.now()
        const request = call.request as GrpcModelInferRequest
        const name = nameOf(call, "model_name")
        const cb: Callback =
          accessLog === undefined && (trace === undefined || !spans.enabled) ? done : observed(done, { requestId, trace, name, t0, call, spans, accessLog })
        if (draining(cb)) return
        let e: ModelEntry
        try {
          e = serving.lookup(name, request.model_version, p)
        } catch (err) {
          cb(grpcErrorOf(err, requestId))
          serving.rejected(undefined, err, t0, "grpc", { requestId, ...traceFields(trace) })
          return
        }
        serving.infer(transport(), { request, cb, name, principal: p, requestId, trace }, e, t0, p)
      }),
      ModelStreamInfer: makeStreamInfer({
        serving,
        state,
        transport,
        nameOf: (md, r: GrpcModelInferRequest) => nameIn(md, r, "model_name"),
        principalOf: (md) => grpcPrincipal(tenants, md),
        tracing: () => spans.enabled
      }),
      ...modelConfigHandlers({ serving, nameOf, fail, draining, authed }),
      RepositoryIndex: authed((call, cb, p) => cb(null, { models: serving.repositoryIndex(call.request?.ready === true, p) })),
      ...repositoryHandlers({ serving, fail, draining, authed })
    }

    const server = new grpc.Server({
      "grpc.max_receive_message_length": Math.min(GRPC_MAX_MESSAGE_BYTES, config.maxBodySize),
      "grpc.max_send_message_length": GRPC_MAX_MESSAGE_BYTES,
      // Slow or vanished clients: ping idle connections, drop dead ones and ones idle for minutes.
      "grpc.keepalive_time_ms": 60_000,
      "grpc.keepalive_timeout_ms": 20_000,
      "grpc.max_connection_idle_ms": 300_000
    })
    // Cluster mode keeps each ModelInfer request's bytes, to forward them unchanged.
    server.addService(...tolerantService(config.etcd !== undefined ? forwardingServiceDefinition() : def.GRPCInferenceService.service, impl))
    server.addService(loadHealthDefinition().Health.service, health.impl)
    addReflection(server)
    const bound = yield* Effect.acquireRelease(
      Effect.async<number, ListenError>((resume) => {
        // With a client CA, clients must present a certificate it signed (mutual TLS).
        const credentials =
          tls === undefined ? grpc.ServerCredentials.createInsecure() : grpc.ServerCredentials.createSsl(tls.ca ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], tls.ca !== undefined)
        server.bindAsync(`${config.host}:${port}`, credentials, (err, actual) => {
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
