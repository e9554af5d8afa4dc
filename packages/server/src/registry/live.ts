import { join, resolve } from "node:path"
import { Data, Effect, Layer } from "effect"
import { Config } from "../config/config.js"
import { messageOf } from "../errors.js"
import { Log } from "../observability/log.js"
import { ModelRegistry } from "./registry.js"
import { scanModelsDir } from "./sources.js"
import { cleanPartialDownloads } from "./download.js"

/** The registry file or the models directory could not be read at start. */
export class RegistryOpenError extends Data.TaggedError("RegistryOpenError")<{ readonly message: string }> {}

/**
 * Register every model found in --models DIR (when set). Idempotent in cluster mode, where every
 * instance does it at start; an error (a clash, etcd away) stops start-up with its message.
 */
export const registerModelsDir = (registry: ModelRegistry) =>
  Effect.gen(function* () {
    const config = yield* Config
    const log = yield* Log
    // Downloads a killed process left half-written (both modes run this step at start).
    const parts = yield* Effect.promise(() => cleanPartialDownloads(join(config.dataDir, "downloads")))
    if (parts > 0) log.info("removed partial downloads", { files: parts })
    if (config.models === undefined) return
    const dir = config.models
    const found = yield* Effect.tryPromise({ try: () => scanModelsDir(dir, log), catch: (e) => new RegistryOpenError({ message: messageOf(e) }) })
    for (const r of found) {
      yield* Effect.tryPromise({
        try: () => registry.addFromDirectory(r),
        catch: (e) => new RegistryOpenError({ message: `cannot register "${r.id}" from the models directory: ${messageOf(e)}` })
      })
    }
    log.info("models directory scanned", { dir: resolve(dir), models: found.length })
  })

/** The registry from the data dir's registry.json, plus every model found in --models DIR. */
export const ModelRegistryLive = Layer.effect(
  ModelRegistry,
  Effect.gen(function* () {
    const config = yield* Config
    const registry = yield* Effect.tryPromise({
      try: () => ModelRegistry.open(join(config.dataDir, "registry.json")),
      catch: (e) => new RegistryOpenError({ message: `cannot open the registry: ${messageOf(e)}` })
    })
    yield* registerModelsDir(registry)
    return registry
  })
)
