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
  internal: grpc.status.INTERNAL
}

/** `err` as the error a grpc-js callback takes. */
export const grpcErrorOf = (err: unknown): grpc.ServiceError => {
  const kind = kindOf(err)
  const message = publicMessage(kind === "internal" ? `internal error: ${messageOf(err)}` : messageOf(err))
  return Object.assign(new Error(message), { code: GRPC_STATUS[kind], details: message, metadata: new grpc.Metadata() })
}
