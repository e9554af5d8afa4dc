import { readFile } from "node:fs/promises"
import { Context, Data, Either, ParseResult, Schema } from "effect"
import { parse as parseYaml } from "yaml"
import { findPolicy, parseBytes, PolicyChoice } from "@meshkit/core"
import { parseDuration } from "./duration.js"

/**
 * Server configuration: one Schema, fed from (lowest to highest precedence) defaults, a YAML or
 * JSON file (--config / MESHKIT_CONFIG), MESHKIT_* environment variables and command-line flags.
 * Every value also accepts its string form, because env and flags are strings.
 */

const fail = (ast: any, actual: unknown, message: string) => ParseResult.fail(new ParseResult.Type(ast, actual, message))

/** A number (or its text) within bounds; one clear message whatever went wrong. */
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
const IntFrom = (min: number, max: number) => numberFrom("an integer", min, max, true)
const NumberFrom = (min: number) => numberFrom("a number", min, Infinity, false)

/** "256MiB", "2GiB", 1048576 → bytes. */
export const ByteSize = Schema.transformOrFail(Schema.Union(Schema.String, Schema.Number), Schema.Number, {
  strict: true,
  decode: (v, _, ast) => {
    try {
      return ParseResult.succeed(parseBytes(v))
    } catch (e) {
      return fail(ast, v, (e as Error).message)
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
      return fail(ast, v, (e as Error).message)
    }
  },
  encode: (n) => ParseResult.succeed(n)
})

/** A port, or "off"/"none"/-1 to disable a listener. */
const OptionalPort = Schema.transformOrFail(Schema.Union(Schema.String, Schema.Number, Schema.Null), Schema.NullOr(Schema.Number), {
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
const BooleanFrom = Schema.transformOrFail(Schema.Union(Schema.Boolean, Schema.String), Schema.Boolean, {
  strict: true,
  decode: (v, _, ast) =>
    typeof v === "boolean" ? ParseResult.succeed(v)
    : /^(true|1|yes|on)$/i.test(v) ? ParseResult.succeed(true)
    : /^(false|0|no|off)$/i.test(v) ? ParseResult.succeed(false)
    : fail(ast, v, `expected true or false, got ${JSON.stringify(v)}`),
  encode: (b) => ParseResult.succeed(b)
})

/** "cuda,cpu" or ["cuda", "cpu"]. */
const StringList = Schema.transform(Schema.Union(Schema.String, Schema.Array(Schema.String)), Schema.Array(Schema.String), {
  strict: true,
  decode: (v) => (typeof v === "string" ? v.split(",").map((s) => s.trim()).filter((s) => s.length > 0) : v),
  encode: (v) => v
})

const EvictionChoice = Schema.Union(Schema.String, PolicyChoice).pipe(
  Schema.filter((c) => {
    const name = typeof c === "string" ? c : c.name
    const d = findPolicy("eviction", name)
    if (d === undefined) return `unknown eviction policy "${name}"`
    if (d.offline) return `eviction policy "${name}" needs the future request sequence (simulator only)`
    return true
  })
)

export const LogLevel = Schema.Literal("debug", "info", "warn", "error", "none")
export type LogLevel = typeof LogLevel.Type

export const RuntimeOptions = Schema.Struct({
  /** e.g. ["cuda"]; probed at start, CPU is the fallback */
  executionProviders: Schema.optional(StringList),
  intraOpNumThreads: Schema.optional(IntFrom(1, 1024)),
  interOpNumThreads: Schema.optional(IntFrom(1, 1024)),
  /** let idle onnxruntime threads spin (faster wake-up, burns CPU with many models); default off */
  allowSpinning: Schema.optional(BooleanFrom),
  graphOptimizationLevel: Schema.optional(Schema.Literal("disabled", "basic", "extended", "all")),
  /** predicted loaded size = file size × sizeFactor */
  sizeFactor: Schema.optional(NumberFrom(0.01)),
  /** correct the prediction with the RSS growth measured during load (default true) */
  measureSize: Schema.optional(BooleanFrom),
  /**
   * 0: sessions on the JS thread (a load or a long inference stalls every other request);
   * N: sessions in N worker threads (one message round trip and an input copy per inference)
   */
  workers: Schema.optional(IntFrom(0, 64))
})

export const ServerConfig = Schema.Struct({
  host: Schema.optionalWith(Schema.String, { default: () => "127.0.0.1" }),
  port: Schema.optionalWith(IntFrom(0, 65535), { default: () => 8000 }),
  /** default 8001, or 0 (a free port) when `port` is 0 */
  grpcPort: Schema.optional(OptionalPort),
  memory: Schema.optionalWith(ByteSize, { default: () => 1024 ** 3 }),
  models: Schema.optional(Schema.String),
  dataDir: Schema.optionalWith(Schema.String, { default: () => ".meshkit" }),
  eviction: Schema.optionalWith(EvictionChoice, { default: () => "lru" }),
  maxConcurrentLoads: Schema.optionalWith(IntFrom(1, 1024), { default: () => 2 }),
  loadTimeout: Schema.optionalWith(Duration, { default: () => 120_000 }),
  /** loads waiting for a pool slot; beyond it requests for cold models get 503 */
  loadQueueLimit: Schema.optionalWith(IntFrom(1, 1_000_000), { default: () => 1024 }),
  modelConcurrency: Schema.optionalWith(IntFrom(1, 100_000), { default: () => 64 }),
  queueLimit: Schema.optionalWith(IntFrom(0, 1_000_000), { default: () => 256 }),
  /** how long a failed load is answered with its error before the next request retries it */
  failureMemory: Schema.optionalWith(Duration, { default: () => 30_000 }),
  /** how often keep-alive policies (ttl, hybrid) are asked which idle models to unload */
  expireInterval: Schema.optionalWith(Duration, { default: () => 1000 }),
  drainTimeout: Schema.optionalWith(Duration, { default: () => 30_000 }),
  maxBodySize: Schema.optionalWith(ByteSize, { default: () => 64 * 1024 ** 2 }),
  downloadTimeout: Schema.optionalWith(Duration, { default: () => 300_000 }),
  logLevel: Schema.optionalWith(LogLevel, { default: () => "info" as const }),
  runtime: Schema.optionalWith(RuntimeOptions, { default: () => ({}) })
})
export type ServerConfig = typeof ServerConfig.Type
export type ServerConfigInput = typeof ServerConfig.Encoded

/** The resolved configuration, as a service. */
export class Config extends Context.Tag("meshkit/server/Config")<Config, ServerConfig>() {}

export class ConfigError extends Data.TaggedError("ConfigError")<{ readonly message: string }> {}

type Source = { readonly label: (key: string) => string; readonly values: Record<string, unknown> }

/** Flag and environment spellings of each field. */
const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
const envName = (k: string) => `MESHKIT_${kebab(k).replace(/-/g, "_").toUpperCase()}`
const RUNTIME_KEYS = ["executionProviders", "intraOpNumThreads", "interOpNumThreads", "graphOptimizationLevel", "sizeFactor", "allowSpinning", "measureSize", "workers"] as const
export const CONFIG_KEYS = Object.keys(ServerConfig.fields).filter((k) => k !== "runtime")

/** Values from MESHKIT_* variables (runtime options as MESHKIT_RUNTIME_<NAME>). */
export const fromEnv = (env: NodeJS.ProcessEnv): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const k of CONFIG_KEYS) {
    const v = env[envName(k)]
    if (v !== undefined && v !== "") out[k] = k === "eviction" ? jsonOrText(v) : v
  }
  const runtime: Record<string, unknown> = {}
  for (const k of RUNTIME_KEYS) {
    const v = env[envName(`runtime-${kebab(k)}`)]
    if (v !== undefined && v !== "") runtime[k] = v
  }
  if (Object.keys(runtime).length > 0) out.runtime = runtime
  return out
}

/** `--eviction '{"name":"ttl","options":{"keepAliveMs":60000}}'` as well as `--eviction lru`. */
export const jsonOrText = (v: string): unknown => {
  if (!v.trimStart().startsWith("{")) return v
  try {
    return JSON.parse(v)
  } catch {
    return v
  }
}

export const readConfigFile = async (path: string): Promise<Record<string, unknown>> => {
  let text: string
  try {
    text = await readFile(path, "utf8")
  } catch (e) {
    throw new ConfigError({ message: `cannot read config file ${path}: ${(e as Error).message}` })
  }
  let value: unknown
  try {
    value = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text)
  } catch (e) {
    throw new ConfigError({ message: `config file ${path} is not valid ${/\.json$/i.test(path) ? "JSON" : "YAML"}: ${(e as Error).message}` })
  }
  if (value === null || value === undefined) return {}
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError({ message: `config file ${path} must contain a mapping of settings` })
  }
  return value as Record<string, unknown>
}

/**
 * Merge the sources (later wins; `runtime` merged one level deep) and validate. The error names
 * each bad field and where it came from (file, MESHKIT_* variable or --flag).
 */
export const resolveConfig = (sources: {
  readonly file?: { readonly path: string; readonly values: Record<string, unknown> }
  readonly env?: Record<string, unknown>
  readonly flags?: Record<string, unknown>
}): ServerConfig => {
  const ordered: Source[] = []
  if (sources.file) ordered.push({ label: (k) => `"${k}" in ${sources.file!.path}`, values: sources.file.values })
  if (sources.env) ordered.push({ label: (k) => envName(k.startsWith("runtime.") ? `runtime-${kebab(k.slice(8))}` : k), values: sources.env })
  if (sources.flags) ordered.push({ label: (k) => `--${kebab(k.replace("runtime.", ""))}`, values: sources.flags })

  const merged: Record<string, unknown> = {}
  const origin = new Map<string, string>()
  for (const s of ordered) {
    for (const [k, v] of Object.entries(s.values)) {
      if (v === undefined) continue
      if (k === "runtime" && v !== null && typeof v === "object" && !Array.isArray(v)) {
        const base = (merged.runtime ?? {}) as Record<string, unknown>
        merged.runtime = { ...base, ...(v as Record<string, unknown>) }
        for (const rk of Object.keys(v)) origin.set(`runtime.${rk}`, s.label(`runtime.${rk}`))
      } else {
        merged[k] = v
        origin.set(k, s.label(k))
      }
    }
  }
  const decoded = Schema.decodeUnknownEither(ServerConfig, { onExcessProperty: "error", errors: "all" })(merged)
  if (Either.isRight(decoded)) return decoded.right
  // An optional field reports two alternatives (undefined, or the value's schema): keep the useful one.
  const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left).filter((i) => !/^Expected undefined, actual/.test(i.message))
  const lines = issues.map((i) => {
    const key = i.path.map(String).join(".")
    const top = i.path.length > 1 && i.path[0] === "runtime" ? `runtime.${String(i.path[1])}` : String(i.path[0] ?? "")
    const where = origin.get(top) ?? origin.get(key)
    const msg = i._tag === "Unexpected" ? "unknown setting" : i.message
    return `  ${key || "(root)"}${where ? ` (from ${where})` : ""}: ${msg}`
  })
  throw new ConfigError({ message: `invalid configuration:\n${lines.join("\n")}` })
}

/** The gRPC port actually used: explicit, else 0 when the HTTP port is 0 (tests, benches), else 8001. */
export const grpcPortOf = (c: ServerConfig): number | null => (c.grpcPort !== undefined ? c.grpcPort : c.port === 0 ? 0 : 8001)
