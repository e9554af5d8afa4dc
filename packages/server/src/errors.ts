import { Data } from "effect"

/**
 * What can go wrong while serving, each with the status it deserves. The HTTP and gRPC layers
 * map these (plus the codec's InvalidRequest and the runtime's RuntimeError) in one place:
 * ./http/errors.ts and ./grpc/server.ts.
 */

/** No model (or vmodel) by that name: 404. */
export class ModelNotFound extends Data.TaggedError("ModelNotFound")<{ readonly message: string }> {}

/** The request is malformed or does not match the model: 400. */
export class BadRequest extends Data.TaggedError("BadRequest")<{ readonly message: string }> {}

/** A request body over --max-body-size: 413. */
export class PayloadTooLarge extends Data.TaggedError("PayloadTooLarge")<{ readonly message: string }> {}

/** A registration that clashes with an existing one, or a delete blocked by a vmodel: 409. */
export class Conflict extends Data.TaggedError("Conflict")<{ readonly message: string }> {}

/** The model can never fit in the memory budget: 507 (SageMaker MME's "insufficient storage"). */
export class ModelTooLarge extends Data.TaggedError("ModelTooLarge")<{ readonly message: string }> {}

/** Too many requests queued on one model: 429, answered at once. */
export class Overloaded extends Data.TaggedError("Overloaded")<{ readonly message: string }> {}

/**
 * Temporarily unable: load queue full, no evictable memory within the load timeout, shutting
 * down, or a load failure being remembered. 503 with Retry-After (seconds) when known.
 */
export class Unavailable extends Data.TaggedError("Unavailable")<{
  readonly message: string
  readonly retryAfterMs?: number
}> {}

/** The model failed to load (bad file, unsupported operator, timeout): 503 until retried. */
export class LoadFailed extends Data.TaggedError("LoadFailed")<{
  readonly message: string
  readonly retryAfterMs?: number
}> {}

/** Fetching a model from its URL failed (origin error, size or checksum mismatch): 502 / 400. */
export class DownloadFailed extends Data.TaggedError("DownloadFailed")<{
  readonly message: string
  /** true when the origin served the file but it is not what was promised (size, sha256) */
  readonly mismatch: boolean
}> {}

export type ServeError =
  | ModelNotFound
  | BadRequest
  | PayloadTooLarge
  | Conflict
  | ModelTooLarge
  | Overloaded
  | Unavailable
  | LoadFailed
  | DownloadFailed
