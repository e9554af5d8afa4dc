import * as grpc from "@grpc/grpc-js"
import { type ErrorKind, kindOf, messageOf } from "../../errors.js"

/** Error kind → gRPC status code (the REST table is ../http/errors.ts). */
export const GRPC_STATUS: Readonly<Record<ErrorKind, grpc.status>> = {
  invalid: grpc.status.INVALID_ARGUMENT,
  "not-found": grpc.status.NOT_FOUND,
  conflict: grpc.status.ALREADY_EXISTS,
  "payload-too-large": grpc.status.RESOURCE_EXHAUSTED,
  overloaded: grpc.status.RESOURCE_EXHAUSTED,
  "insufficient-storage": grpc.status.RESOURCE_EXHAUSTED,
  upstream: grpc.status.UNAVAILABLE,
  unavailable: grpc.status.UNAVAILABLE,
  internal: grpc.status.INTERNAL
}

/** `err` as the error a grpc-js callback takes. */
export const grpcErrorOf = (err: unknown, requestId?: string): grpc.ServiceError => {
  const kind = kindOf(err)
  const message = kind === "internal" ? `internal error: ${messageOf(err)}` : messageOf(err)
  const metadata = new grpc.Metadata()
  // the request id travels in the error's trailers (gRPC's counterpart of the JSON error body)
  if (requestId !== undefined) metadata.set("x-request-id", requestId)
  return Object.assign(new Error(message), { code: GRPC_STATUS[kind], details: message, metadata })
}
