import { readFile } from "node:fs/promises"
import { Context, Data, Either, ParseResult, Schema } from "effect"
import { parse as parseYaml } from "yaml"
import { findPolicy, PolicyChoice } from "@meshkit/core"
import { messageOf } from "../errors.js"
import { OnnxOptions } from "../runtimes/onnx/options.js"
import { RemoteRuntimeSpecs } from "../runtimes/remote/options.js"
import { BooleanFrom, ByteSize, Duration, IntFrom, OptionalPort, StringList } from "./text-schemas.js"

export { ByteSize, Duration } from "./text-schemas.js"

/**
 * Server configuration: one Schema, fed from (lowest to highest precedence) defaults, a YAML or
 * JSON file (--config / MESHKIT_CONFIG), MESHKIT_* environment variables and command-line flags.
 * Every value also accepts its string form, because env and flags are strings.
 */

const EvictionChoice = Schema.Union(Schema.String, PolicyChoice).pipe(
  Schema.filter((c) => {
    const name = typeof c === "string" ? c : c.name
    const d = findPolicy("eviction", name)
    if (d === undefined) return `unknown eviction policy "${name}"`
    if (d.offline) return `eviction policy "${name}" needs the future request sequence (simulator only)`
    return true
  })
)

/** A placement / routing / scaling policy by name or {name, options}; "off" turns scaling off. */
const policyChoice = (family: "placement" | "routing" | "scaling") =>
  Schema.Union(Schema.String, PolicyChoice).pipe(
    Schema.filter((c) => {
      const name = typeof c === "string" ? c : c.name
      if (family === "scaling" && name === "off") return true
      return findPolicy(family, name) === undefined ? `unknown ${family} policy "${name}" (see meshkit policies)` : true
    })
  )

/** etcd endpoints: comma-separated http(s) URLs. */
const EtcdEndpoints = Schema.String.pipe(
  Schema.filter((s) => {
    const bad = s.split(",").filter((u) => !/^https?:\/\/[^\s/]+(:\d+)?\/?$/.test(u.trim()))
    return bad.length === 0 ? true : `expected comma-separated etcd URLs like http://127.0.0.1:2379, got ${JSON.stringify(bad[0])}`
  })
)

/** host[:port] entries, e.g. "models.example.com,127.0.0.1:9000". */
const HostList = StringList.pipe(
  Schema.filter((hosts) => {
    const bad = hosts.find((h) => !/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(h))
    return bad === undefined ? true : `expected host or host:port entries like models.example.com or 127.0.0.1:9000, got ${JSON.stringify(bad)}`
  })
)

export const LogLevel = Schema.Literal("debug", "info", "warn", "error", "none")
export type LogLevel = typeof LogLevel.Type

export const ServerConfig = Schema.Struct({
  host: Schema.optionalWith(Schema.String, { default: () => "127.0.0.1" }),
  port: Schema.optionalWith(IntFrom(0, 65535), { default: () => 8000 }),
  /** default 8001, or 0 (a free port) when `port` is 0 */
  grpcPort: Schema.optional(OptionalPort),
  memory: Schema.optionalWith(ByteSize, { default: () => 1024 ** 3 }),
  models: Schema.optional(Schema.String),
  dataDir: Schema.optionalWith(Schema.String, { default: () => ".meshkit" }),
  eviction: Schema.optionalWith(EvictionChoice, { default: () => "lru" }),
  /** after an unload, give freed native memory back to the OS when RSS exceeds the just-started process + memory + heapSlack (glibc) */
  heapTrim: Schema.optionalWith(BooleanFrom, { default: () => true }),
  heapSlack: Schema.optionalWith(ByteSize, { default: () => 32 * 1024 ** 2 }),
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
  /** dynamic batching: rows of concurrent requests merged into one run (1 = off); models may override */
  maxBatchSize: Schema.optionalWith(IntFrom(1, 1_000_000), { default: () => 1 }),
  /** dynamic batching: how long a request may wait for others to join its run */
  maxBatchDelay: Schema.optionalWith(Duration, { default: () => 0 }),
  downloadTimeout: Schema.optionalWith(Duration, { default: () => 300_000 }),
  /** model sources: directories (besides --models) that register calls may name files under */
  modelRoots: Schema.optionalWith(StringList, { default: () => [] }),
  /** model sources: host[:port] a register call may download from (none by default: URLs refused) */
  allowUrlHosts: Schema.optionalWith(HostList, { default: () => [] }),
  /** model sources: allow downloads from loopback, private and link-local addresses */
  allowPrivateUrls: Schema.optionalWith(BooleanFrom, { default: () => false }),
  maxDownloadSize: Schema.optionalWith(ByteSize, { default: () => 4 * 1024 ** 3 }),
  /** request limits: control-plane (/v1/*) bodies */
  maxControlBodySize: Schema.optionalWith(ByteSize, { default: () => 1024 ** 2 }),
  /** request limits: tensor elements one infer request may declare (beyond: 413) */
  maxRequestElements: Schema.optionalWith(IntFrom(1, 2 ** 32), { default: () => 16 * 1024 ** 2 }),
  /** request limits: bytes of infer bodies being read and decoded at once, all requests together (beyond: 429) */
  decodeBudget: Schema.optionalWith(ByteSize, { default: () => 256 * 1024 ** 2 }),
  /** slow clients: a request must be complete (headers and body) within this long */
  requestTimeout: Schema.optionalWith(Duration, { default: () => 60_000 }),
  /** slow clients: a request's headers must arrive within this long */
  headersTimeout: Schema.optionalWith(Duration, { default: () => 10_000 }),
  /** idle keep-alive connections close after this long */
  keepAliveTimeout: Schema.optionalWith(Duration, { default: () => 65_000 }),
  /** open connections per listener (HTTP; beyond, new sockets are closed at once) */
  maxConnections: Schema.optionalWith(IntFrom(1, 1_000_000), { default: () => 10_000 }),
  logLevel: Schema.optionalWith(LogLevel, { default: () => "info" as const }),
  /** per-model request series in /metrics (a model label; with a tenants file /metrics then needs the admin or metrics token); off: one series per status and transport */
  modelMetrics: Schema.optionalWith(BooleanFrom, { default: () => false }),
  /** cluster mode: etcd endpoints; absent = a single server on its own file registry */
  etcd: Schema.optional(EtcdEndpoints),
  /** cluster mode: this instance's id (default: host name and port, stable across restarts) */
  instanceId: Schema.optional(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._:@-]{1,200}$/, { message: () => "instance ids use letters, digits and . _ : @ - (at most 200)" }))),
  /** cluster mode: how peers reach this instance's HTTP listener (default: its listen address) */
  advertise: Schema.optional(Schema.String.pipe(Schema.pattern(/^https?:\/\/[^\s]+$/, { message: () => "expected a URL like http://10.0.0.5:8000" }))),
  etcdPrefix: Schema.optionalWith(Schema.String, { default: () => "meshkit/" }),
  /** how long a control-plane write waits for etcd before answering 503 */
  etcdTimeout: Schema.optionalWith(Duration, { default: () => 5_000 }),
  /** cluster mode: the instance record's lease; a dead instance's record vanishes this long after it died */
  leaseTtl: Schema.optionalWith(Duration, { default: () => 10_000 }),
  placement: Schema.optionalWith(policyChoice("placement"), { default: () => "modelmesh" }),
  routing: Schema.optionalWith(policyChoice("routing"), { default: () => "least-in-flight" }),
  scaling: Schema.optionalWith(policyChoice("scaling"), { default: () => "modelmesh" }),
  /** seed of the policies' random choices (policyRng, as in the simulator) */
  seed: Schema.optionalWith(IntFrom(0, 2 ** 31 - 1), { default: () => 1 }),
  /** tenancy: the tenants file (YAML or JSON: admin, tenants with token digests and limits); absent = an open server */
  tenants: Schema.optional(Schema.String),
  /** without a tenants file, allow a non-loopback --host (anyone who reaches it manages every model) */
  insecureOpen: Schema.optionalWith(BooleanFrom, { default: () => false }),
  /** sha256 (hex) of a token that may read /metrics when it names models (besides the admin's) */
  metricsToken: Schema.optional(Schema.String.pipe(Schema.pattern(/^[0-9a-fA-F]{64}$/, { message: () => "expected the token's sha256: 64 hex characters" }))),
  /** cluster mode with a tenants file: the token this instance presents to its peers (MESHKIT_PEER_TOKEN; never a flag) */
  peerToken: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
  /** TLS for REST and gRPC (and peer forwarding): PEM certificate chain and key files */
  tlsCert: Schema.optional(Schema.String),
  tlsKey: Schema.optional(Schema.String),
  /** PEM CA bundle: clients (and peers) must present a certificate it signed (mutual TLS); peers are verified against it */
  tlsClientCa: Schema.optional(Schema.String),
  /** options of the ONNX runtime (the only runtime today), as given: the runtime applies its defaults */
  runtime: Schema.optionalWith(OnnxOptions, { default: () => ({}) }),
  /** one JSON line per request on stderr (observability/access-log.ts) */
  accessLog: Schema.optionalWith(BooleanFrom, { default: () => false }),
  /** export spans over OTLP/HTTP JSON to this collector (base URL, e.g. http://collector:4318); absent = off */
  otlpEndpoint: Schema.optional(Schema.String.pipe(Schema.pattern(/^https?:\/\/[^\s]+$/, { message: () => "expected a URL like http://otel-collector:4318" }))),
  /** TEST ONLY: wait this long before sending each infer answer (the replay test's "slow build") */
  debugDelayMs: Schema.optionalWith(IntFrom(0, 60_000), { default: () => 0 }),
  /** external runtimes over ModelMesh's runtime SPI (--remote-runtime JSON, repeatable) */
  remoteRuntimes: Schema.optionalWith(RemoteRuntimeSpecs, { default: () => [] })
})
export type ServerConfig = typeof ServerConfig.Type

/** The resolved configuration, as a service. */
export class Config extends Context.Tag("meshkit/server/Config")<Config, ServerConfig>() {}

export class ConfigError extends Data.TaggedError("ConfigError")<{ readonly message: string }> {}

type Source = { readonly label: (key: string) => string; readonly values: Record<string, unknown> }

/** Flag and environment spellings of each field. */
const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
const envName = (k: string) => `MESHKIT_${kebab(k).replace(/-/g, "_").toUpperCase()}`
const RUNTIME_KEYS = Object.keys(OnnxOptions.fields)
export const CONFIG_KEYS = Object.keys(ServerConfig.fields).filter((k) => k !== "runtime")

/** Values from MESHKIT_* variables (runtime options as MESHKIT_RUNTIME_<NAME>). */
export const fromEnv = (env: NodeJS.ProcessEnv): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const k of CONFIG_KEYS) {
    const v = env[envName(k)]
    if (v !== undefined && v !== "") out[k] = k === "eviction" ? jsonOrText(v) : k === "remoteRuntimes" ? jsonList(v) : v
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

/** MESHKIT_REMOTE_RUNTIMES / --remote-runtime: JSON (an object or a list of them); left as text when not JSON, so the Schema error names the field. */
export const jsonList = (v: string): unknown => {
  try {
    const parsed: unknown = JSON.parse(v)
    return Array.isArray(parsed) ? parsed : [parsed]
  } catch {
    return v
  }
}

export const readConfigFile = async (path: string): Promise<Record<string, unknown>> => {
  let text: string
  try {
    text = await readFile(path, "utf8")
  } catch (e) {
    throw new ConfigError({ message: `cannot read config file ${path}: ${messageOf(e)}` })
  }
  let value: unknown
  try {
    value = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text)
  } catch (e) {
    throw new ConfigError({ message: `config file ${path} is not valid ${/\.json$/i.test(path) ? "JSON" : "YAML"}: ${messageOf(e)}` })
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
  if (sources.flags) ordered.push({ label: (k) => `--${k === "remoteRuntimes" ? "remote-runtime" : kebab(k.replace("runtime.", ""))}`, values: sources.flags })

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
