/**
 * Triton's ModelStreamInfer: a bidirectional stream of ModelInferRequest, each answered inside
 * the stream by a ModelStreamInferResponse {error_message, infer_response}. Answers go out in
 * the order the requests came (and carry the request's id), so a client can match them either
 * way. A failing request is answered with its error_message and the stream stays open; the
 * stream ends once the client has half-closed and every answer is written.
 *
 * Each streamed request goes through the same use case and transport as a unary ModelInfer
 * (./infer-transport.ts), with a callback that fills its place in the answer queue.
 */
import * as grpc from "@grpc/grpc-js"
import { Unavailable } from "../../errors.js"
import type { ModelEntry } from "../../instance/model-entry.js"
import type { InferTransport, Serving } from "../../serving/infer.js"
import type { ServerState } from "../../serving/server-state.js"
import type { GrpcModelInferRequest } from "../kserve-v2/index.js"
import { grpcErrorOf } from "./errors.js"
import type { GrpcInferCall } from "./infer-transport.js"
import { REQUEST_ID_HEADER, requestIdOf } from "../../observability/request-id.js"
import { startSpan } from "../../observability/trace-context.js"
import { UNAUTHENTICATED } from "../../tenancy/errors.js"
import type { Principal } from "../../tenancy/tenants.js"

interface Slot {
  /** the ModelStreamInferResponse (an object, or encoded bytes in cluster mode), once known */
  answer: unknown
}

/** ModelStreamInferResponse bytes around a peer's encoded ModelInferResponse: field 2, length-delimited. */
const wrapEncoded = (inner: Buffer): Buffer => {
  const head: number[] = [0x12]
  let n = inner.length
  while (n > 0x7f) {
    head.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  head.push(n)
  return Buffer.concat([Buffer.from(head), inner])
}

const errorText = (err: grpc.ServiceError): string => err.details || err.message

export const makeStreamInfer = (o: {
  readonly serving: Serving
  readonly state: ServerState
  readonly transport: () => InferTransport<GrpcInferCall>
  /** the model name: ModelMesh metadata of the stream first, then the request's model_name */
  readonly nameOf: (metadata: grpc.Metadata, request: GrpcModelInferRequest) => string
  /** the stream's principal from its metadata (undefined: not authenticated) */
  readonly principalOf: (metadata: grpc.Metadata) => Principal | undefined
  /** whether requests are traced (span export on) */
  readonly tracing: () => boolean
}) =>
  (call: grpc.ServerDuplexStream<GrpcModelInferRequest, unknown>): void => {
    // One principal, request id prefix and trace parent per stream (its metadata).
    const p = o.principalOf(call.metadata)
    if (p === undefined) {
      call.emit("error", grpcErrorOf(UNAUTHENTICATED))
      return
    }
    const streamId = requestIdOf(call.metadata.get(REQUEST_ID_HEADER)[0])
    const tp = call.metadata.get("traceparent")[0]
    let seq = 0
    const queue: Slot[] = []
    let ended = false
    let gone = false

    const flush = (): void => {
      if (gone) return
      while (queue.length > 0 && queue[0]!.answer !== undefined) call.write(queue.shift()!.answer)
      if (ended && queue.length === 0) {
        gone = true
        call.end()
      }
    }
    const answer = (slot: Slot) => (err: grpc.ServiceError | null, value?: unknown) => {
      if (slot.answer !== undefined) return
      slot.answer = err ? { error_message: errorText(err) } : Buffer.isBuffer(value) ? wrapEncoded(value) : { infer_response: value }
      flush()
    }

    call.on("data", (request: GrpcModelInferRequest) => {
      const t0 = performance.now()
      const slot: Slot = { answer: undefined }
      queue.push(slot)
      const cb = answer(slot)
      if (o.state.draining) return cb(grpcErrorOf(new Unavailable({ message: "server is shutting down" })))
      const name = o.nameOf(call.metadata, request)
      const requestId = `${streamId}.${++seq}`
      const trace = tp !== undefined || o.tracing() ? startSpan(tp, o.tracing()) : undefined
      let e: ModelEntry
      try {
        e = o.serving.lookup(name, request.model_version, p)
      } catch (err) {
        cb(grpcErrorOf(err, requestId))
        o.serving.rejected(undefined, err, t0, "grpc", { requestId })
        return
      }
      o.serving.infer(o.transport(), { request, cb, name, principal: p, requestId, trace }, e, t0, p)
    })
    call.on("end", () => {
      ended = true
      flush()
    })
    call.on("cancelled", () => (gone = true))
    call.on("error", () => (gone = true))
  }
