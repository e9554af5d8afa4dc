import { Schema } from "effect"
import { Duration } from "../../config/text-schemas.js"

/**
 * One external runtime process speaking ModelMesh's runtime SPI (`--remote-runtime JSON`,
 * repeatable, or `remoteRuntimes: [...]` in the config file). Models whose `format` is one of
 * `modelTypes` are loaded there.
 */
export const RemoteRuntimeSpec = Schema.Struct({
  name: Schema.String.pipe(
    Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, { message: () => "a runtime name uses letters, digits and . _ - (at most 63)" })
  ),
  /** host:port (IPv6 as [addr]:port) or unix:PATH, as grpc-js takes it */
  address: Schema.String.pipe(
    Schema.filter((a) => /^(unix:.+|\[[0-9a-fA-F:.]+\]:\d{1,5}|[A-Za-z0-9.-]+:\d{1,5})$/.test(a) || `expected host:port or unix:PATH, got ${JSON.stringify(a)}`)
  ),
  modelTypes: Schema.Array(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, { message: () => "a model type uses letters, digits and . _ + -" }))).pipe(
    Schema.minItems(1, { message: () => "list at least one model type (the formats this runtime loads)" })
  ),
  /** how long start-up waits for runtimeStatus READY before the server gives up */
  startupTimeout: Schema.optionalWith(Duration, { default: () => 60_000 }),
  /** how often a running runtime's status is checked (finds a dead runtime, and its return) */
  healthInterval: Schema.optionalWith(Duration, { default: () => 1_000 })
})
export type RemoteRuntimeSpec = typeof RemoteRuntimeSpec.Type

/** The list, with names and model types unique across it. */
export const RemoteRuntimeSpecs = Schema.Array(RemoteRuntimeSpec).pipe(
  Schema.filter((specs) => {
    const names = new Set<string>()
    const types = new Map<string, string>()
    for (const s of specs) {
      if (names.has(s.name)) return `two remote runtimes are named "${s.name}"`
      names.add(s.name)
      for (const t of s.modelTypes) {
        const other = types.get(t)
        if (other !== undefined) return `model type "${t}" is claimed by remote runtimes "${other}" and "${s.name}"`
        types.set(t, s.name)
      }
    }
    return true
  })
)
