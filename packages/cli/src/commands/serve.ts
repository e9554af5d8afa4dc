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

loading
  --max-concurrent-loads N     load pool size (default 2)
  --load-timeout DUR           per-load timeout, e.g. 30s (default 120s)
  --load-queue-limit N         loads waiting for the pool before 503 (default 1024)
  --failure-memory DUR         a failed load is answered with its error this long, then retried (default 30s)
  --expire-interval DUR        how often keep-alive policies unload idle models (default 1s)
  --download-timeout DUR       URL model downloads (default 5m)

requests
  --model-concurrency N        requests admitted at once per model (default 64)
  --queue-limit N              requests queued per model before 429 (default 256)
  --max-body-size SIZE         largest request body (default 64MiB; larger → 413)
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

other
  --config FILE                YAML or JSON settings file
  --log-level LEVEL            debug | info | warn | error | none (JSON lines on stderr; default info)

Prints one line on stdout when ready:
  meshkit serve: listening http://HOST:P grpc HOST:G (N models, memory X)
SIGTERM/SIGINT: stop accepting, finish requests in flight, unload models, exit 0.`

const flagSpec = {
  host: { type: "string" },
  port: { type: "string" },
  "grpc-port": { type: "string" },
  models: { type: "string" },
  memory: { type: "string" },
  eviction: { type: "string" },
  "data-dir": { type: "string" },
  "size-factor": { type: "string" },
  "max-concurrent-loads": { type: "string" },
  "load-timeout": { type: "string" },
  "load-queue-limit": { type: "string" },
  "failure-memory": { type: "string" },
  "expire-interval": { type: "string" },
  "download-timeout": { type: "string" },
  "model-concurrency": { type: "string" },
  "queue-limit": { type: "string" },
  "max-body-size": { type: "string" },
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
  etcd: { type: "string" },
  "instance-id": { type: "string" },
  advertise: { type: "string" },
  "etcd-prefix": { type: "string" },
  "etcd-timeout": { type: "string" },
  "lease-ttl": { type: "string" },
  placement: { type: "string" },
  routing: { type: "string" },
  scaling: { type: "string" },
  seed: { type: "string" }
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

export const run = async (argv: string[]): Promise<number> => {
  const parsed = parse(argv, flagSpec, help)
  if (!parsed) return 0
  // Loaded here, not at the top: `meshkit serve --help` stays instant.
  const { ConfigError, fromEnv, jsonOrText, readConfigFile, resolveConfig } = await import("@meshkit/server")
  const { makeLog } = await import("@meshkit/server")
  const { readyLine, runServer } = await import("@meshkit/server")

  const flags: Record<string, unknown> = {}
  const runtime: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(parsed.values)) {
    if (v === undefined || k === "config") continue
    if (RUNTIME_FLAGS[k]) runtime[RUNTIME_FLAGS[k]] = v
    else flags[camel(k)] = POLICY_FLAGS.has(k) ? jsonOrText(v as string) : v
  }
  if (Object.keys(runtime).length > 0) flags.runtime = runtime

  let config
  try {
    const configPath = (parsed.values.config as string | undefined) ?? process.env.MESHKIT_CONFIG
    const file = configPath ? { path: configPath, values: await readConfigFile(configPath) } : undefined
    config = resolveConfig({ ...(file ? { file } : {}), env: fromEnv(process.env), flags })
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message)
    throw e
  }

  const log = makeLog(config.logLevel)
  const fiber = Effect.runFork(runServer(config, log, (info) => console.log(readyLine(info))))

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
