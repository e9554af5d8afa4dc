import { Cause, Effect, Exit, Fiber, Option } from "effect"
import { errorMessage, parse, UsageError } from "../args.js"

const help = `meshkit serve — the inference server (KServe v2 REST + gRPC, lazy loads, memory-budgeted cache)

usage: meshkit serve [--models DIR] [--port P] [--memory SIZE] [options]

Every option can also come from a config file (--config FILE, YAML or JSON, keys in camelCase,
e.g. "maxConcurrentLoads: 4") or the environment (MESHKIT_<NAME>, e.g. MESHKIT_MEMORY=2GiB,
MESHKIT_RUNTIME_INTRA_OP_NUM_THREADS=1). Precedence: flags > environment > file > defaults.

listeners
  --host HOST                  address to bind (default 127.0.0.1)
  --port P                     HTTP port; 0 picks a free one (default 8000)
  --grpc-port G|off            gRPC port (default 8001; 0 when --port is 0; off disables)

models and memory
  --models DIR                 register every DIR/<name>.onnx and DIR/<name>/model.onnx as <name>
                               (metadata beside it: <name>.json or <name>/meta.json with tenant,
                               labels, pinned, minCopies); loaded lazily on first request
  --memory SIZE                memory budget for loaded models, e.g. 256MiB, 2GiB (default 1GiB)
  --eviction NAME|JSON         eviction policy (default lru; see \`meshkit policies\`), or JSON with
                               options: '{"name":"ttl","options":{"keepAliveMs":600000}}'
  --data-dir DIR               registry and download cache (default ./.meshkit)
  --size-factor F              predicted loaded size = file size × F (runtime default)
  --heap-trim true|false       after an unload, give freed native memory back to the OS when RSS is
                               over the just-started process + --memory + --heap-slack (default true;
                               Linux/glibc)
  --heap-slack SIZE            freed memory the process may keep before it trims (default 32MiB)

loading
  --max-concurrent-loads N     load pool size (default 2)
  --load-timeout DUR           per-load timeout, e.g. 30s (default 120s)
  --load-queue-limit N         loads waiting for the pool before 503 (default 1024)
  --failure-memory DUR         a failed load is answered with its error this long, then retried (default 30s)
  --expire-interval DUR        how often keep-alive policies unload idle models (default 1s)
  --download-timeout DUR       URL model downloads (default 5m)

model sources (what a register call may name)
  --model-roots DIR[,DIR...]   file URIs must resolve (real path) under --models or one of these
  --allow-url-hosts H[:P],...  hosts URL downloads may come from (default none: URLs refused)
  --allow-private-urls         allow URL hosts on loopback, private or link-local addresses
  --max-download-size SIZE     largest URL download (default 4GiB)

requests
  --model-concurrency N        requests admitted at once per model (default 64)
  --queue-limit N              requests queued per model before 429 (default 256)
  --max-body-size SIZE         largest request body (default 64MiB; larger → 413)
  --max-control-body-size SIZE largest control-plane (/v1/*) body (default 1MiB; larger → 413)
  --max-request-elements N     tensor elements one infer request may declare (default 16Mi; → 413)
  --decode-budget SIZE         infer bodies read and decoded at once, all requests (default 256MiB; → 429)
  --request-timeout DUR        a request must arrive whole within this long (default 60s)
  --headers-timeout DUR        a request's headers must arrive within this long (default 10s)
  --keep-alive-timeout DUR     idle keep-alive connections close after this long (default 65s)
  --max-connections N          open HTTP connections (default 10000)
  --drain-timeout DUR          on SIGTERM/SIGINT, wait this long for requests in flight (default 30s)
  --max-batch-size N           dynamic batching: merge up to N rows of concurrent requests to a
                               model into one run (default 1: off; a model's maxBatchSize overrides)
  --max-batch-delay DUR        dynamic batching: how long a request may wait for others (default 0:
                               batches form only from requests already waiting)

runtime (onnxruntime-node)
  --execution-providers LIST   e.g. cuda,cpu (probed at start; falls back to cpu)
  --intra-op-threads N         threads per model run
  --inter-op-threads N
  --graph-optimization LEVEL   disabled | basic | extended | all
  --runtime-workers N          run onnxruntime sessions in N worker threads (default 0: on the
                               main thread, where a model load or a long inference blocks all
                               other requests for its duration)
  --measure-size true|false    correct the predicted size by the RSS growth measured during
                               load (default true; false = always file size × size factor)

cluster mode (many instances on etcd; without --etcd the server runs alone)
  --etcd URL[,URL...]          etcd endpoints, e.g. http://127.0.0.1:2379: turns cluster mode on
  --instance-id ID             this instance's id (default: host name and port; keep it across restarts)
  --advertise URL              how peers reach this instance (default: its listen address)
  --etcd-prefix P              key prefix in etcd (default meshkit/)
  --etcd-timeout DUR           how long a control-plane write waits for etcd before 503 (default 5s)
  --lease-ttl DUR              a dead instance leaves the cluster this long after it died (default 10s)
  --placement NAME|JSON        which instance loads a new copy (default modelmesh; see meshkit policies)
  --routing NAME|JSON          which copy serves a request (default least-in-flight)
  --scaling NAME|JSON|off      how many copies a model has (default modelmesh)
  --seed N                     seed of the policies' random choices (default 1)

tenants and security
  --tenants FILE               tenants file (YAML or JSON): admin and tenant token digests, memory
                               shares, maxConcurrency, requestsPerSecond, priority; every call then
                               needs Authorization: Bearer <token> (health endpoints excepted)
  --insecure-open              without --tenants, allow a non-loopback --host (anyone who can reach
                               the server manages every model)
  --metrics-token SHA256       sha256 (hex) of a token that may read /metrics when --model-metrics
                               is on (the admin token always may)
  --tls-cert FILE              PEM certificate chain: REST and gRPC over TLS (peers forward over https)
  --tls-key FILE               PEM private key for --tls-cert
  --tls-client-ca FILE         PEM CA: clients and peers must present a certificate it signed (mutual TLS)
  MESHKIT_PEER_TOKEN           (environment only) cluster mode with --tenants: the token this instance
                               shows its peers; the tenants file's peer or admin token

remote runtimes (processes speaking ModelMesh's runtime SPI, mmesh.ModelRuntime)
  --remote-runtime JSON        repeatable: '{"name":"mlserver","address":"127.0.0.1:8085",
                               "modelTypes":["sklearn"]}' (optional "startupTimeout": "60s",
                               "healthInterval": "1s"); models whose format is one of modelTypes
                               load there, under the capacity the runtime reports

other
  --config FILE                YAML or JSON settings file
  --log-level LEVEL            debug | info | warn | error | none (JSON lines on stderr; default info)
  --model-metrics              a model label on the request series in /metrics (default off:
                               one series per status and transport, whatever the model count;
                               MESHKIT_MODEL_METRICS=true or "modelMetrics: true" in a config file);
                               with --tenants, /metrics then needs the admin or metrics token

observability
  --access-log                 one JSON line per request on stderr (msg "access": requestId,
                               traceId, method, path, model, status, durationUs, bytes, transport,
                               forwardedFrom); off by default
  --otlp-endpoint URL          export spans (requests, forwards, loads) over OTLP/HTTP JSON to
                               URL/v1/traces, e.g. http://otel-collector:4318; off by default
  Every answer carries x-request-id (the client's, 1-128 visible ASCII characters, or a new one;
  in error bodies as "requestId"); a W3C traceparent is continued and passed on to peers.

Prints one line on stdout when ready:
  meshkit serve: listening http(s)://HOST:P grpc HOST:G (N models, memory X)
SIGTERM/SIGINT: stop accepting, finish requests in flight, unload models, exit 0.
SIGHUP: re-read the configuration (file, environment, flags); the eviction policy and its options
change live (residents stay loaded); other changed settings are logged as needing a restart.`

/** The flag table (public through `@meshkit/cli/serve`: deployment checks validate args with it). */
export const flagSpec = {
  host: { type: "string" },
  port: { type: "string" },
  "grpc-port": { type: "string" },
  models: { type: "string" },
  memory: { type: "string" },
  eviction: { type: "string" },
  "data-dir": { type: "string" },
  "size-factor": { type: "string" },
  "heap-trim": { type: "string" },
  "heap-slack": { type: "string" },
  "max-concurrent-loads": { type: "string" },
  "load-timeout": { type: "string" },
  "load-queue-limit": { type: "string" },
  "failure-memory": { type: "string" },
  "expire-interval": { type: "string" },
  "download-timeout": { type: "string" },
  "model-concurrency": { type: "string" },
  "queue-limit": { type: "string" },
  "max-body-size": { type: "string" },
  "model-roots": { type: "string" },
  "allow-url-hosts": { type: "string" },
  "allow-private-urls": { type: "boolean" },
  "max-download-size": { type: "string" },
  "max-control-body-size": { type: "string" },
  "max-request-elements": { type: "string" },
  "decode-budget": { type: "string" },
  "request-timeout": { type: "string" },
  "headers-timeout": { type: "string" },
  "keep-alive-timeout": { type: "string" },
  "max-connections": { type: "string" },
  "drain-timeout": { type: "string" },
  "max-batch-size": { type: "string" },
  "max-batch-delay": { type: "string" },
  "execution-providers": { type: "string" },
  "intra-op-threads": { type: "string" },
  "inter-op-threads": { type: "string" },
  "graph-optimization": { type: "string" },
  "measure-size": { type: "string" },
  "runtime-workers": { type: "string" },
  config: { type: "string" },
  "log-level": { type: "string" },
  "model-metrics": { type: "boolean" },
  etcd: { type: "string" },
  "instance-id": { type: "string" },
  advertise: { type: "string" },
  "etcd-prefix": { type: "string" },
  "etcd-timeout": { type: "string" },
  "lease-ttl": { type: "string" },
  placement: { type: "string" },
  routing: { type: "string" },
  scaling: { type: "string" },
  seed: { type: "string" },
  tenants: { type: "string" },
  "insecure-open": { type: "boolean" },
  "metrics-token": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-client-ca": { type: "string" },
  "access-log": { type: "boolean" },
  "otlp-endpoint": { type: "string" },
  // test only, not in the help: wait N ms before each infer answer (bench replay's slowed build)
  "debug-delay-ms": { type: "string" },
  "remote-runtime": { type: "string", multiple: true }
} as const

const POLICY_FLAGS = new Set(["eviction", "placement", "routing", "scaling"])
const camel = (k: string) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
const RUNTIME_FLAGS: Record<string, string> = {
  "size-factor": "sizeFactor",
  "execution-providers": "executionProviders",
  "intra-op-threads": "intraOpNumThreads",
  "inter-op-threads": "interOpNumThreads",
  "graph-optimization": "graphOptimizationLevel",
  "measure-size": "measureSize",
  "runtime-workers": "workers"
}

/** One --remote-runtime value: a JSON object (the config Schema then checks its fields). */
const remoteRuntimeFlag = (v: string): unknown => {
  try {
    return JSON.parse(v)
  } catch (e) {
    throw new UsageError(`--remote-runtime: not valid JSON (${errorMessage(e)}): ${v}`)
  }
}

export interface ResolveServeOptions {
  readonly env?: NodeJS.ProcessEnv
  /** reads the --config file (default: the server's readConfigFile); checks map container paths here */
  readonly readConfig?: (path: string) => Promise<Record<string, unknown>>
}

/**
 * argv (after `serve`) → the validated configuration (flags > MESHKIT_* environment > --config
 * file > defaults), or a UsageError naming the bad flag or setting; undefined after --help.
 * Public as `@meshkit/cli/serve`, so the Kubernetes manifests and the Dockerfile's command are
 * checked by the very code the server starts with.
 */
export const resolveServeArgs = async (argv: string[], o: ResolveServeOptions = {}) => (await serveConfigSources(argv, o))?.config

/** The configuration and how to resolve it again from the same sources (SIGHUP, config/reload.ts). */
const serveConfigSources = async (argv: string[], o: ResolveServeOptions = {}) => {
  const parsed = parse(argv, flagSpec, help)
  if (!parsed) return undefined
  // Loaded here, not at the top: `meshkit serve --help` stays instant.
  const { ConfigError, fromEnv, jsonOrText, readConfigFile, resolveConfig } = await import("@meshkit/server")
  const env = o.env ?? process.env

  const flags: Record<string, unknown> = {}
  const runtime: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(parsed.values)) {
    if (v === undefined || k === "config") continue
    if (k === "remote-runtime") flags.remoteRuntimes = (v as string[]).map(remoteRuntimeFlag)
    else if (RUNTIME_FLAGS[k]) runtime[RUNTIME_FLAGS[k]] = v
    else flags[camel(k)] = POLICY_FLAGS.has(k) ? jsonOrText(v as string) : v
  }
  if (Object.keys(runtime).length > 0) flags.runtime = runtime

  const configPath = (parsed.values.config as string | undefined) ?? env.MESHKIT_CONFIG
  const resolveNow = async () => {
    const file = configPath ? { path: configPath, values: await (o.readConfig ?? readConfigFile)(configPath) } : undefined
    return resolveConfig({ ...(file ? { file } : {}), env: fromEnv(env), flags })
  }
  try {
    return { config: await resolveNow(), reread: resolveNow }
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message)
    throw e
  }
}

export const run = async (argv: string[]): Promise<number> => {
  const sources = await serveConfigSources(argv)
  if (sources === undefined) return 0
  const { config, reread: resolveNow } = sources
  const { makeLog, readyLine, runServer } = await import("@meshkit/server")

  const log = makeLog(config.logLevel)
  const fiber = Effect.runFork(runServer(config, log, (info) => console.log(readyLine(info)), { reread: resolveNow }))

  let stopping = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn("second signal: exiting without draining", { signal })
      process.exit(130)
    }
    stopping = true
    log.info("shutting down", { signal })
    fiber.unsafeInterruptAsFork(fiber.id())
  }
  process.on("SIGTERM", onSignal)
  process.on("SIGINT", onSignal)

  const exit = await Effect.runPromise(Fiber.await(fiber))
  process.off("SIGTERM", onSignal)
  process.off("SIGINT", onSignal)
  if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) {
    log.info("stopped")
    // Anything still holding the event loop open (a stuck socket) must not keep a stopped server alive.
    setTimeout(() => process.exit(0), 2000).unref()
    return 0
  }
  const failure = Cause.failureOption(exit.cause)
  const err = Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)
  const message = errorMessage(err)
  log.error("server failed", { error: message })
  console.error(`meshkit serve: ${message}`)
  return 1
}
