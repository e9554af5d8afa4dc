import { ParseResult, Schema } from "effect"
import { parseBytes } from "@meshkit/core"
import { messageOf } from "../errors.js"
import { parseDuration } from "./duration.js"

/**
 * Schemas for settings that arrive as text from environment variables and flags as well as
 * typed from a YAML/JSON file: each accepts both forms and gives one clear message whatever
 * went wrong. Shared by the server configuration and the runtimes' option Schemas.
 */

const fail = (ast: any, actual: unknown, message: string) => ParseResult.fail(new ParseResult.Type(ast, actual, message))

/** A number (or its text) within bounds. */
const numberFrom = (what: string, min: number, max: number, int: boolean) =>
  Schema.transformOrFail(Schema.Union(Schema.Number, Schema.String), Schema.Number, {
    strict: true,
    decode: (v, _, ast) => {
      const n = typeof v === "number" ? v : v.trim() === "" ? NaN : Number(v)
      return Number.isFinite(n) && (!int || Number.isInteger(n)) && n >= min && n <= max
        ? ParseResult.succeed(n)
        : fail(ast, v, `expected ${what} ${max === Infinity ? `≥ ${min}` : `between ${min} and ${max}`}, got ${JSON.stringify(v)}`)
    },
    encode: (n) => ParseResult.succeed(n)
  })
export const IntFrom = (min: number, max: number) => numberFrom("an integer", min, max, true)
export const NumberFrom = (min: number) => numberFrom("a number", min, Infinity, false)

/** "256MiB", "2GiB", 1048576 → bytes. */
export const ByteSize = Schema.transformOrFail(Schema.Union(Schema.String, Schema.Number), Schema.Number, {
  strict: true,
  decode: (v, _, ast) => {
    try {
      return ParseResult.succeed(parseBytes(v))
    } catch (e) {
      return fail(ast, v, messageOf(e))
    }
  },
  encode: (n) => ParseResult.succeed(n)
})

/** "30s", "500ms", 1000 → milliseconds. */
export const Duration = Schema.transformOrFail(Schema.Union(Schema.String, Schema.Number), Schema.Number, {
  strict: true,
  decode: (v, _, ast) => {
    try {
      return ParseResult.succeed(parseDuration(v))
    } catch (e) {
      return fail(ast, v, messageOf(e))
    }
  },
  encode: (n) => ParseResult.succeed(n)
})

/** A port, or "off"/"none"/-1 to disable a listener. */
export const OptionalPort = Schema.transformOrFail(Schema.Union(Schema.String, Schema.Number, Schema.Null), Schema.NullOr(Schema.Number), {
  strict: true,
  decode: (v, _, ast) => {
    if (v === null || v === "off" || v === "none" || v === -1 || v === "-1") return ParseResult.succeed(null)
    const n = typeof v === "number" ? v : /^\d+$/.test(v.trim()) ? Number(v) : NaN
    return Number.isInteger(n) && n >= 0 && n <= 65535
      ? ParseResult.succeed(n)
      : fail(ast, v, `expected a port 0-65535 or "off", got ${JSON.stringify(v)}`)
  },
  encode: (n) => ParseResult.succeed(n)
})

/** true/false, also as the strings env and flags give. */
export const BooleanFrom = Schema.transformOrFail(Schema.Union(Schema.Boolean, Schema.String), Schema.Boolean, {
  strict: true,
  decode: (v, _, ast) =>
    typeof v === "boolean" ? ParseResult.succeed(v)
    : /^(true|1|yes|on)$/i.test(v) ? ParseResult.succeed(true)
    : /^(false|0|no|off)$/i.test(v) ? ParseResult.succeed(false)
    : fail(ast, v, `expected true or false, got ${JSON.stringify(v)}`),
  encode: (b) => ParseResult.succeed(b)
})

/** "cuda,cpu" or ["cuda", "cpu"]. */
export const StringList = Schema.transform(Schema.Union(Schema.String, Schema.Array(Schema.String)), Schema.Array(Schema.String), {
  strict: true,
  decode: (v) => (typeof v === "string" ? v.split(",").map((s) => s.trim()).filter((s) => s.length > 0) : v),
  encode: (v) => v
})
