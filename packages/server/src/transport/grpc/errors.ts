import * as grpc from "@grpc/grpc-js"
import { type ErrorKind, kindOf, messageOf } from "../../errors.js"
import { publicMessage } from "../public-message.js"

/** Error kind → gRPC status code (the REST table is ../http/errors.ts). */
export const GRPC_STATUS: Readonly<Record<ErrorKind, grpc.status>> = {
  invalid: grpc.status.INVALID_ARGUMENT,
  forbidden: grpc.status.PERMISSION_DENIED,
  "not-found": grpc.status.NOT_FOUND,
  conflict: grpc.status.ALREADY_EXISTS,
  "payload-too-large": grpc.status.RESOURCE_EXHAUSTED,
  overloaded: grpc.status.RESOURCE_EXHAUSTED,
  "insufficient-storage": grpc.status.RESOURCE_EXHAUSTED,
  upstream: grpc.status.UNAVAILABLE,
  unavailable: grpc.status.UNAVAILABLE,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  internal: grpc.status.INTERNAL
}

/** `err` as the error a grpc-js callback takes. */
export const grpcErrorOf = (err: unknown, requestId?: string): grpc.ServiceError => {
  const kind = kindOf(err)
  const message = publicMessage(kind === "internal" ? `internal error: ${messageOf(err)}` : messageOf(err))
  const metadata = new grpc.Metadata()
  // the request id travels in the error's trailers (gRPC's counterpart of the JSON error body)
  if (requestId !== undefined) metadata.set("x-request-id", requestId)
  return Object.assign(new Error(message), { code: GRPC_STATUS[kind], details: message, metadata })
}

/**
 * A request whose protobuf bytes do not decode is the caller's mistake: grpc-js answers INTERNAL
 * for any deserializer throw, so each method's deserializer is wrapped to hand the handler a
 * marker instead, and the handler answers INVALID_ARGUMENT.
 */
const UNDECODABLE = Symbol.for("meshkit/server/grpc/undecodable")

interface MethodLike {
  readonly requestDeserialize: (b: Buffer) => unknown
}

export const tolerantService = (
  def: grpc.ServiceDefinition,
  impl: grpc.UntypedServiceImplementation
): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] => {
  const outDef: Record<string, unknown> = {}
  const outImpl: grpc.UntypedServiceImplementation = {}
  for (const [name, method] of Object.entries(def)) {
    const m = method as unknown as MethodLike
    outDef[name] = {
      ...method,
      requestDeserialize: (b: Buffer) => {
        try {
          return m.requestDeserialize(b)
        } catch (e) {
          return { [UNDECODABLE]: messageOf(e) }
        }
      }
    }
    const handler = impl[name]
    if (handler === undefined) continue
    outImpl[name] = ((call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const req = call.request as Record<symbol, unknown> | null
      if (req !== null && typeof req === "object" && UNDECODABLE in req) {
        const details = publicMessage(`the request is not a valid ${name} protobuf message: ${String(req[UNDECODABLE])}`)
        return cb(Object.assign(new Error(details), { code: grpc.status.INVALID_ARGUMENT, details, metadata: new grpc.Metadata() }))
      }
      return (handler as (c: typeof call, cb: grpc.sendUnaryData<unknown>) => void)(call, cb)
    }) as grpc.UntypedHandleCall
  }
  return [outDef as unknown as grpc.ServiceDefinition, outImpl]
}
