import { Data } from "effect"

/**
 * A request the server cannot accept as sent (malformed JSON, missing field, wrong datatype,
 * data length that does not match the shape, ...). The HTTP layer answers 400, gRPC
 * INVALID_ARGUMENT. The message names the field or tensor at fault.
 *
 * The codec functions throw it (they are synchronous and sit on the hot path); callers in
 * Effect code wrap them with Effect.try.
 */
export class InvalidRequest extends Data.TaggedError("InvalidRequest")<{ readonly message: string }> {}

export const invalid = (message: string): InvalidRequest => new InvalidRequest({ message })
