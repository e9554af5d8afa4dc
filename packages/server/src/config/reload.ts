import { Context, Effect, Layer } from "effect"
import { messageOf } from "../errors.js"
import type { Log } from "../observability/log.js"
import { ConfigError, type ServerConfig } from "./config.js"

/**
 * Configuration reload (SIGHUP): the server re-reads its configuration (same file, environment
 * and flags, same precedence as at start) and hands the new value to `ConfigReload.reload`.
 * Services that can change a setting while serving subscribe to the fields they own; a changed
 * field nobody applies is reported as "needs restart" and the running value is kept. Requests
 * are never dropped: appliers are plain synchronous swaps.
 *
 * The hook for other services (tenants file, future policies):
 *
 *   const reload = yield* ConfigReload
 *   reload.subscribe("tenants", ["tenants"], (next, prev) => { ...swap... })   // when the field changed
 *   reload.onEveryReload("tenants", async (next) => { ...re-read the file... }) // on every SIGHUP
 *
 * An applier that throws keeps the old value of its fields and is reported as failed (with
 * the message) in the reload's log line; the other fields still apply.
 */
export type ConfigField = keyof ServerConfig

export interface ReloadReport {
  /** fields whose new value is live */
  readonly applied: ReadonlyArray<string>
  /** fields that changed but only take effect after a restart (the running value is kept) */
  readonly needsRestart: ReadonlyArray<string>
  readonly failed: ReadonlyArray<{ readonly field: string; readonly error: string }>
  /** every-reload hooks that ran (by name) */
  readonly hooks: ReadonlyArray<string>
}

type Applier = (next: ServerConfig, prev: ServerConfig) => void

export class ConfigReloader {
  private config: ServerConfig
  private readonly appliers: Array<{ readonly name: string; readonly fields: ReadonlyArray<ConfigField>; readonly apply: Applier }> = []
  private readonly hooks: Array<{ readonly name: string; readonly run: (next: ServerConfig) => void | Promise<void> }> = []

  constructor(initial: ServerConfig) {
    this.config = initial
  }

  /** The configuration as it runs now (the start value with every applied reload). */
  get current(): ServerConfig {
    return this.config
  }

  /** `apply` runs when one of `fields` changed; it owns those fields from now on. */
  subscribe(name: string, fields: ReadonlyArray<ConfigField>, apply: Applier): void {
    this.appliers.push({ name, fields, apply })
  }

  /** `run` runs on every reload, changed fields or not (a file the config only names, like a tenants file). */
  onEveryReload(name: string, run: (next: ServerConfig) => void | Promise<void>): void {
    this.hooks.push({ name, run })
  }

  async reload(next: ServerConfig): Promise<ReloadReport> {
    const prev = this.config
    const changed = (Object.keys(next) as ConfigField[]).filter((k) => JSON.stringify(next[k]) !== JSON.stringify(prev[k]))
    const applied: string[] = []
    const failed: Array<{ field: string; error: string }> = []
    const live: Record<string, unknown> = { ...prev }
    for (const a of this.appliers) {
      const mine = a.fields.filter((f) => changed.includes(f))
      if (mine.length === 0) continue
      try {
        a.apply(next, prev)
        for (const f of mine) {
          live[f] = next[f]
          applied.push(f)
        }
      } catch (e) {
        for (const f of mine) failed.push({ field: f, error: `${a.name}: ${messageOf(e)}` })
      }
    }
    const owned = new Set(this.appliers.flatMap((a) => a.fields))
    const needsRestart = changed.filter((f) => !owned.has(f))
    this.config = live as ServerConfig
    const hooks: string[] = []
    for (const h of this.hooks) {
      try {
        await h.run(next)
        hooks.push(h.name)
      } catch (e) {
        failed.push({ field: h.name, error: messageOf(e) })
      }
    }
    return { applied, needsRestart, failed, hooks }
  }
}

/** The reloader as a service (its own tag). */
export class ConfigReload extends Context.Tag("meshkit/server/ConfigReload")<ConfigReload, ConfigReloader>() {}

export const configReloadLayer = (initial: ServerConfig) => Layer.sync(ConfigReload, () => new ConfigReloader(initial))

/**
 * Reload on SIGHUP for as long as the scope is open: `reread` gives the configuration as it
 * would be resolved at start now; a reload that cannot be read or validated changes nothing
 * and says why. One reload at a time (a signal during a reload queues one more).
 */
export const reloadOnSighup = (reloader: ConfigReloader, reread: () => Promise<ServerConfig>, log: Log) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      let running: Promise<void> | undefined
      let again = false
      const once = async () => {
        let next: ServerConfig
        try {
          next = await reread()
        } catch (e) {
          log.error("config reload failed: nothing changed", { error: e instanceof ConfigError ? e.message : messageOf(e) })
          return
        }
        const r = await reloader.reload(next)
        const fields = { applied: r.applied, needsRestart: r.needsRestart, failed: r.failed, hooks: r.hooks }
        if (r.needsRestart.length > 0) log.warn("config reloaded; some changes need a restart (running values kept)", fields)
        else if (r.failed.length > 0) log.warn("config reloaded with failures (their running values kept)", fields)
        else log.info("config reloaded", fields)
      }
      const onHup = () => {
        if (running !== undefined) {
          again = true
          return
        }
        running = (async () => {
          do {
            again = false
            await once()
          } while (again)
        })().finally(() => {
          running = undefined
        })
      }
      process.on("SIGHUP", onHup)
      return onHup
    }),
    (onHup) => Effect.sync(() => process.off("SIGHUP", onHup))
  )
