import { randomBytes } from "node:crypto"

/**
 * Request ids: the client's `x-request-id` when it is usable (1 to 128 visible ASCII characters),
 * else one made here. A made id is a per-process random prefix and a counter — unique across
 * instances of a cluster without a random draw per request (the hit path pays one string concat).
 */
export const REQUEST_ID_HEADER = "x-request-id"

const PREFIX = randomBytes(6).toString("hex")
let counter = 0

export const newRequestId = (): string => `${PREFIX}-${(++counter).toString(36)}`

const VISIBLE_ASCII = /^[\x21-\x7e]{1,128}$/

/** The id as given when valid, else undefined (the caller then makes one). */
export const validRequestId = (v: unknown): string | undefined => (typeof v === "string" && VISIBLE_ASCII.test(v) ? v : undefined)

/** A request's id: the client's when valid, else a new one. */
export const requestIdOf = (v: unknown): string => validRequestId(v) ?? newRequestId()
