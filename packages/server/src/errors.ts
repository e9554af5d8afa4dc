/**
 * Every error a request can meet, each defined once with a transport-neutral kind. The
 * transports map kind → status in one small table each (transport/http/errors.ts,
 * transport/grpc/errors.ts) and never look at an error's class; new errors (a forwarder's, a
 * tenant check's) only declare their kind here or beside their code.
 *
 * The kind sits behind a symbol on the prototype, so it costs nothing per error and does not
 * disturb the tagged errors' structural equality.
 */
import { Data, Predicate } from "effect"

export type ErrorKind =
  /** malformed or mismatched input (HTTP 400) */
  | "invalid"
  /** refused by the server's rules: a model source outside the roots or allowed hosts, or a caller's credentials that do not allow this call (403) */
  | "forbidden"
  /** unknown model, vmodel or version (404) */
  | "not-found"
  /** a registration that clashes, a delete blocked by a vmodel (409) */
  | "conflict"
  /** a request body over --max-body-size (413) */
  | "payload-too-large"
  /** too many requests queued on one model (429) */
  | "overloaded"
  /** fetching a model from its origin failed (502) */
  | "upstream"
  /** temporarily unable: load queue full, no room in time, a remembered load failure, shutting down (503) */
  | "unavailable"
  /** a model that can never fit the memory budget (507) */
  | "insufficient-storage"
  /** no credentials, or credentials the server does not know (401; tenancy) */
  | "unauthenticated"
  /** a server bug (500) */
  | "internal"

export const KindId: unique symbol = Symbol.for("meshkit/server/ErrorKind")

/** An error that says what kind of failure it is (and, when known, when to retry). */
export interface Kinded {
  readonly [KindId]: ErrorKind
  readonly message: string
  readonly retryAfterMs?: number
}

export const isKinded = (e: unknown): e is Kinded => Predicate.hasProperty(e, KindId)

/** The kind of any thrown value; anything that does not declare one is a bug. */
export const kindOf = (e: unknown): ErrorKind => (isKinded(e) ? e[KindId] : "internal")

/** When to retry, for the errors that know (503 load failures, 429). */
export const retryAfterOf = (e: unknown): number | undefined => (isKinded(e) ? e.retryAfterMs : undefined)

/** The message of any thrown value (typed errors keep theirs; anything else is stringified). */
export const messageOf = (e: unknown): string => (Predicate.hasProperty(e, "message") && typeof e.message === "string" ? e.message : String(e))

/** Kinds that point at a fault on this side worth a log line (not the caller's, not a known limit). */
export const isServerFault = (kind: ErrorKind): boolean => kind === "internal" || kind === "upstream"

/** No model (or vmodel) by that name. */
export class ModelNotFound extends Data.TaggedError("ModelNotFound")<{ readonly message: string }> {
  get [KindId](): ErrorKind {
    return "not-found"
  }
}

/** The request is malformed or does not match the model. */
export class BadRequest extends Data.TaggedError("BadRequest")<{ readonly message: string }> {
  get [KindId](): ErrorKind {
    return "invalid"
  }
}

/**
 * A request the KServe v2 codecs cannot accept as sent (malformed JSON, missing field, wrong
 * datatype, data length that does not match the shape, ...); the message names the field or
 * tensor at fault. The codecs throw it (they are synchronous and sit on the hot path).
 */
export class InvalidRequest extends Data.TaggedError("InvalidRequest")<{ readonly message: string }> {
  get [KindId](): ErrorKind {
    return "invalid"
  }
}

export const invalid = (message: string): InvalidRequest => new InvalidRequest({ message })

/** A request body over --max-body-size. */
export class PayloadTooLarge extends Data.TaggedError("PayloadTooLarge")<{ readonly message: string }> {
  get [KindId](): ErrorKind {
    return "payload-too-large"
  }
}

/** A registration that clashes with an existing one, or a delete blocked by a vmodel. */
export class Conflict extends Data.TaggedError("Conflict")<{ readonly message: string }> {
  get [KindId](): ErrorKind {
    return "conflict"
  }
}

/** The model can never fit in the memory budget (SageMaker MME's "insufficient storage"). */
export class ModelTooLarge extends Data.TaggedError("ModelTooLarge")<{ readonly message: string }> {
  get [KindId](): ErrorKind {
    return "insufficient-storage"
  }
}

/** Too many requests queued on one model: answered at once, retry in a second. */
export class Overloaded extends Data.TaggedError("Overloaded")<{ readonly message: string }> {
  get [KindId](): ErrorKind {
    return "overloaded"
  }
  get retryAfterMs(): number {
    return 1000
  }
}

/**
 * Temporarily unable: load queue full, no evictable memory within the load timeout, shutting
 * down. Retry-After (seconds) when known.
 */
export class Unavailable extends Data.TaggedError("Unavailable")<{
  readonly message: string
  readonly retryAfterMs?: number
}> {
  get [KindId](): ErrorKind {
    return "unavailable"
  }
}

/**
 * Cluster mode: the model left this instance (evicted, unloaded) after the request had found it
 * loaded or loading here, before the request got a slot. The mesh decides again rather than the
 * manager reloading it unclaimed (cluster/mesh.ts); should it ever reach a client, it is a 503.
 */
export class CopyGone extends Data.TaggedError("CopyGone")<{ readonly message: string }> {
  get [KindId](): ErrorKind {
    return "unavailable"
  }
}

/** The model failed to load (bad file, unsupported operator, timeout): unavailable until retried. */
export class LoadFailed extends Data.TaggedError("LoadFailed")<{
  readonly message: string
  readonly retryAfterMs?: number
}> {
  get [KindId](): ErrorKind {
    return "unavailable"
  }
}

/** Fetching a model from its URL failed: an origin error, or a file that is not what was promised. */
export class DownloadFailed extends Data.TaggedError("DownloadFailed")<{
  readonly message: string
  /** true when the origin served the file but it is not what was promised (size, sha256): the caller's mistake */
  readonly mismatch: boolean
}> {
  get [KindId](): ErrorKind {
    return this.mismatch ? "invalid" : "upstream"
  }
}

/** A peer instance answered a forwarded request with an error: its kind travels with it. */
export class PeerFailed extends Data.TaggedError("PeerFailed")<{ readonly message: string; readonly kind: ErrorKind }> {
  get [KindId](): ErrorKind {
    return this.kind
  }
}

const KINDS: ReadonlySet<string> = new Set<ErrorKind>(["invalid", "unauthenticated", "forbidden", "not-found", "conflict", "payload-too-large", "overloaded", "upstream", "unavailable", "insufficient-storage", "internal"])
export const isErrorKind = (s: unknown): s is ErrorKind => typeof s === "string" && KINDS.has(s)

/** A listener could not bind its address (start-up, either transport). */
export class ListenError extends Data.TaggedError("ListenError")<{ readonly message: string }> {}

/** What the serving use case and the instance's model cache reject with. */
export type ServeError = ModelNotFound | BadRequest | InvalidRequest | PayloadTooLarge | Overloaded | Unavailable | LoadFailed | ModelTooLarge | DownloadFailed
