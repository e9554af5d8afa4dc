import { Data } from "effect"
import { type ErrorKind, KindId } from "../errors.js"

/**
 * Errors of the coordination layer. A control-plane call that gets one answers 503 with the
 * message (never hangs, never 500): EtcdUnavailable and WriteContention declare the kind
 * "unavailable", which both transports' tables map to 503 / UNAVAILABLE, and LeaseExpired never
 * leaves this folder (membership re-grants on it).
 */

/** etcd did not answer within --etcd-timeout, or refused the connection. */
export class EtcdUnavailable extends Data.TaggedError("EtcdUnavailable")<{
  readonly message: string
  /** what was being done, e.g. "put meshkit/registry/m1" */
  readonly operation: string
}> {
  get [KindId](): ErrorKind {
    return "unavailable"
  }
}

/** A compare-and-set kept losing to concurrent writers for the whole retry budget. */
export class WriteContention extends Data.TaggedError("WriteContention")<{
  readonly message: string
  readonly key: string
}> {
  get [KindId](): ErrorKind {
    return "unavailable"
  }
}

/** A put bound to a lease that etcd no longer knows (expired while we were cut off). */
export class LeaseExpired extends Data.TaggedError("LeaseExpired")<{
  readonly message: string
  readonly leaseId: string
}> {}
