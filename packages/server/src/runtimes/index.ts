import { Context, Effect, Layer, Runtime } from "effect"
import type { ServerConfig } from "../config/config.js"
import { messageOf } from "../errors.js"
import type { Log } from "../observability/log.js"
import { makeOnnxRuntime } from "./onnx/runtime.js"
import { makeRemoteRuntime } from "./remote/runtime.js"
import { type ModelRuntime, RuntimeError } from "./runtime.js"
import { makeXgboostRuntime } from "./xgboost/runtime.js"

/**
 * The runtimes this server loads models with, one folder each, chosen by model format
 * (`runtimeFor(format)`). Adding a runtime (XGBoost, a remote one) is adding a folder that
 * implements ./runtime.ts's ModelRuntime with its own option Schema, plus one line in RUNTIMES.
 */
export interface RuntimeFolder {
  readonly name: string
  /** Build the runtime from its section of the server configuration; `log` gets its start-up notes. */
  readonly make: (config: ServerConfig, log: (line: string) => void) => Promise<ModelRuntime>
}

export const RUNTIMES: ReadonlyArray<RuntimeFolder> = [
  { name: "onnx", make: (config, log) => makeOnnxRuntime(config.runtime, log) },
  { name: "xgboost", make: async () => makeXgboostRuntime() }
]

export interface ModelRuntimes {
  /** The runtime that loads `format`, if any. */
  runtimeFor(format: string): ModelRuntime | undefined
  /** Every format some runtime loads. */
  readonly formats: ReadonlyArray<string>
  readonly all: ReadonlyArray<ModelRuntime>
}

export const ModelRuntimes = Context.GenericTag<ModelRuntimes>("meshkit/server/ModelRuntimes")

export const modelRuntimes = (all: ReadonlyArray<ModelRuntime>): ModelRuntimes => {
  const byFormat = new Map<string, ModelRuntime>()
  for (const r of all) for (const f of r.formats) if (!byFormat.has(f)) byFormat.set(f, r)
  return { runtimeFor: (format) => byFormat.get(format), formats: [...byFormat.keys()], all }
}

/** A remote runtime may not take a format a built-in runtime loads (the request would be ambiguous). */
const clashOf = (builtIn: ReadonlyArray<ModelRuntime>, remote: ServerConfig["remoteRuntimes"]): string | undefined => {
  for (const spec of remote) {
    for (const t of spec.modelTypes) {
      const owner = builtIn.find((r) => r.formats.includes(t))
      if (owner) return `remote runtime "${spec.name}": model type "${t}" is already loaded by the built-in ${owner.name} runtime; give the remote runtime another model type`
    }
  }
  return undefined
}

/** A plain Log over Effect's logger, for runtimes that log from callbacks (health checks). */
const effectLog = Effect.map(Effect.runtime<never>(), (rt): Log => {
  const run = Runtime.runSync(rt)
  const at = (f: (msg: string) => Effect.Effect<void>) => (msg: string, fields?: Record<string, unknown>) => run(Effect.annotateLogs(f(msg), fields ?? {}))
  return { debug: at(Effect.logDebug), info: at(Effect.logInfo), warn: at(Effect.logWarning), error: at(Effect.logError) }
})

/**
 * Every remote runtime of the configuration (--remote-runtime): connected, READY and honouring
 * its runtimeStatus before the server starts; its channel closed when the scope closes.
 */
const remoteRuntimes = (config: ServerConfig, builtIn: ReadonlyArray<ModelRuntime>) =>
  Effect.gen(function* () {
    const clash = clashOf(builtIn, config.remoteRuntimes)
    if (clash) return yield* new RuntimeError({ kind: "load", message: clash })
    const log = yield* effectLog
    return yield* Effect.forEach(config.remoteRuntimes, (spec) =>
      Effect.acquireRelease(
        Effect.tryPromise({
          try: () => makeRemoteRuntime(spec, log),
          catch: (e) => (e instanceof RuntimeError ? e : new RuntimeError({ kind: "load", message: `remote runtime ${spec.name}: ${messageOf(e)}` }))
        }),
        (rt) => Effect.promise(() => rt.close())
      )
    )
  })

/**
 * Every runtime built at start (an ONNX runtime probes its execution providers; unavailable
 * ones are logged as warnings through Effect's logger) and closed when the scope closes, which
 * unloads every model still loaded.
 */
export const ModelRuntimesLive = (config: ServerConfig, folders: ReadonlyArray<RuntimeFolder> = RUNTIMES) =>
  Layer.scoped(
    ModelRuntimes,
    Effect.flatMap(
      Effect.forEach(folders, (folder) =>
        Effect.acquireRelease(
          Effect.gen(function* () {
            const lines: string[] = []
            const rt = yield* Effect.tryPromise({
              try: () => folder.make(config, (l) => lines.push(l)),
              catch: (e) => (e instanceof RuntimeError ? e : new RuntimeError({ kind: "load", message: `${folder.name} runtime: ${messageOf(e)}` }))
            })
            for (const l of lines) yield* l.includes("not available") ? Effect.logWarning(l) : Effect.logInfo(l)
            return rt
          }),
          (rt) => Effect.promise(() => rt.close?.() ?? Promise.resolve())
        )
      ),
      (builtIn) => Effect.map(remoteRuntimes(config, builtIn), (remote) => modelRuntimes([...builtIn, ...remote]))
    )
  )

export * from "./runtime.js"
export { inputProblem } from "./validate.js"
