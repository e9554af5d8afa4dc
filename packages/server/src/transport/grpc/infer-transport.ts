/**
 * How a gRPC ModelInfer reaches the infer use case: one unary call = one `cb`. The streaming
 * RPC (./stream-infer.ts) reuses it with a `cb` per streamed request. In cluster mode the call's
 * protobuf bytes are forwarded to a peer (./forwarded.ts) and the peer's encoded answer is
 * handed to `cb` as a Buffer.
 */
import type * as grpc from "@grpc/grpc-js"
import { forwardContextOf, type PeerForwarder } from "../../cluster/forwarder.js"
import { Unavailable } from "../../errors.js"
import type { InferTransport } from "../../serving/infer.js"
import { MODEL_VERSION } from "../../serving/server-state.js"
import { decodeModelInferRequest, encodeModelInferResponse, type GrpcModelInferRequest } from "../kserve-v2/index.js"
import { grpcErrorOf } from "./errors.js"
import { collector, FORWARDED_GRPC_PATH, peerAnswer, rawRequestOf } from "./forwarded.js"
import { REQUEST_ID_HEADER } from "../../observability/request-id.js"
import { traceFields, type TraceContext } from "../../observability/trace-context.js"
import { type Principal, TENANT_HEADER, tenantHeaderOf } from "../../tenancy/tenants.js"

/** `value` is a ModelInferResponse object, or (cluster mode) its encoded bytes from a peer. */
export type Callback = (err: grpc.ServiceError | null, value?: unknown) => void

/** One ModelInfer call on its way through the use case. */
export interface GrpcInferCall {
  readonly request: GrpcModelInferRequest
  readonly cb: Callback
  readonly name: string
  readonly principal: Principal
  readonly requestId: string
  readonly trace: TraceContext | undefined
}

export const GRPC: InferTransport<GrpcInferCall> = {
  transport: "grpc",
  decode: (call, inputs) => decodeModelInferRequest(call.request, inputs),
  reply: (call, outputs, r) => call.cb(null, encodeModelInferResponse(call.name, MODEL_VERSION, r.id, outputs, r.binaryOutput)),
  fail: (call, err) => call.cb(grpcErrorOf(err, call.requestId)),
  logFields: (call) => ({ requestId: call.requestId, ...traceFields(call.trace) }),
  trace: (call) => call.trace
}

const CLIENT_CONTEXT = forwardContextOf({})

/** Cluster mode: the same transport, forwarding the call's protobuf bytes to a peer (./forwarded.ts). */
export const grpcInCluster = (forwarder: PeerForwarder): InferTransport<GrpcInferCall> => ({
  ...GRPC,
  context: () => CLIENT_CONTEXT,
  forward: async (call, to, mode, ctx) => {
    const raw = rawRequestOf(call.request)
    if (raw === undefined) return { kind: "failed", reason: "the request's bytes were not kept", refusal: undefined }
    const sink = collector()
    const r = await forwarder.forward(
      { id: to.id, url: to.httpUrl },
      FORWARDED_GRPC_PATH + encodeURIComponent(call.name),
      { "content-type": "application/x-protobuf", [TENANT_HEADER]: tenantHeaderOf(call.principal), [REQUEST_ID_HEADER]: call.requestId },
      raw,
      ctx,
      mode,
      sink,
      call.trace
    )
    if (r.kind === "answered") {
      const a = peerAnswer(sink)
      if (a.ok) call.cb(null, a.body)
      else call.cb(grpcErrorOf(a.error, call.requestId))
    }
    return r
  },
  refuse: (call, _refusal, message) => call.cb(grpcErrorOf(new Unavailable({ message }), call.requestId))
})

/** The transport for this call: the cluster one (built once per forwarder) when the instance has joined. */
export const transportPicker = (cluster: () => { readonly forwarder: PeerForwarder } | undefined) => {
  let clusterFor: PeerForwarder | undefined
  let inCluster: InferTransport<GrpcInferCall> | undefined
  return (): InferTransport<GrpcInferCall> => {
    const c = cluster()
    if (c === undefined) return GRPC
    if (clusterFor !== c.forwarder) {
      clusterFor = c.forwarder
      inCluster = grpcInCluster(c.forwarder)
    }
    return inCluster!
  }
}
