import { Context, Layer, Logger, LogLevel as EffectLogLevel } from "effect"
import type { LogLevel } from "../config/config.js"

/**
 * Structured logs: one JSON object per line on stderr (stdout carries only the ready line).
 * A plain object rather than an Effect service call, because the model cache logs from plain
 * callbacks; Effect code reaches the same sink through `effectLoggerLayer`.
 */
export interface Log {
  readonly debug: (msg: string, fields?: Record<string, unknown>) => void
  readonly info: (msg: string, fields?: Record<string, unknown>) => void
  readonly warn: (msg: string, fields?: Record<string, unknown>) => void
  readonly error: (msg: string, fields?: Record<string, unknown>) => void
}

/** The log as a service (the interface and its tag share the name). */
export const Log = Context.GenericTag<Log>("meshkit/server/Log")

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, none: 100 }

export const makeLog = (level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Log => {
  const min = RANK[level]
  const emit = (lvl: Exclude<LogLevel, "none">) =>
    RANK[lvl] < min
      ? () => {}
      : (msg: string, fields?: Record<string, unknown>) => {
          const rec: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, msg }
          if (fields) for (const k in fields) rec[k] = errorText(fields[k])
          write(`${JSON.stringify(rec)}\n`)
        }
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") }
}

const errorText = (v: unknown): unknown => (v instanceof Error ? v.message : v)

export const logLayer = (log: Log) => Layer.succeed(Log, log)

/** Route Effect's own logging (Effect.log*) to the same JSON sink, at the same minimum level. */
export const effectLoggerLayer = (log: Log, level: LogLevel) =>
  Layer.merge(
    Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ logLevel, message, annotations }) => {
        const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
        const fields: Record<string, unknown> = {}
        for (const [k, v] of annotations) fields[k] = v
        const fn =
          logLevel._tag === "Debug" || logLevel._tag === "Trace" ? log.debug
          : logLevel._tag === "Warning" ? log.warn
          : logLevel._tag === "Error" || logLevel._tag === "Fatal" ? log.error
          : log.info
        fn(text, fields)
      })
    ),
    Logger.minimumLogLevel(
      level === "debug" ? EffectLogLevel.Debug
      : level === "warn" ? EffectLogLevel.Warning
      : level === "error" ? EffectLogLevel.Error
      : level === "none" ? EffectLogLevel.None
      : EffectLogLevel.Info
    )
  )
