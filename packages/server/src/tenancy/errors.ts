/** The tenancy checks' errors, each with its transport-neutral kind (../errors.ts). */
import { Data } from "effect"
import { type ErrorKind, KindId } from "../errors.js"

/** No bearer token, or one the tenants file does not know (REST 401 + WWW-Authenticate; gRPC UNAUTHENTICATED). */
export class Unauthenticated extends Data.TaggedError("Unauthenticated")<{ readonly message: string }> {
  get [KindId](): ErrorKind {
    return "unauthenticated"
  }
}

/** A known caller asking for something only the admin (or a peer) may do. */
export class Forbidden extends Data.TaggedError("Forbidden")<{ readonly message: string }> {
  get [KindId](): ErrorKind {
    return "forbidden"
  }
}

/** A tenant over its request rate or its requests in flight: 429 with Retry-After (RESOURCE_EXHAUSTED). */
export class TenantLimited extends Data.TaggedError("TenantLimited")<{ readonly message: string; readonly retryAfterMs: number }> {
  get [KindId](): ErrorKind {
    return "overloaded"
  }
}

export const UNAUTHENTICATED = new Unauthenticated({ message: "authentication required: send Authorization: Bearer <token>" })
