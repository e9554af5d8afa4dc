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
}) =>
  (call: grpc.ServerDuplexStream<GrpcModelInferRequest, unknown>): void => {
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
      let e: ModelEntry
      try {
        e = o.serving.lookup(name, request.model_version)
      } catch (err) {
        cb(grpcErrorOf(err))
        o.serving.rejected(undefined, err, t0)
        return
      }
      o.serving.infer(o.transport(), { request, cb, name }, e, t0)
    })
    call.on("end", () => {
      ended = true
      flush()
    })
    call.on("cancelled", () => (gone = true))
    call.on("error", () => (gone = true))
  }
