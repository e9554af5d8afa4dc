import { messageOf } from "../harness/message.js"
import { Either, ParseResult, Schema } from "effect"

/**
 * The benchmark report file (reports/bench/<name>.json) and its figures. Every figure says which
 * direction is better and how much it may move before `meshkit bench compare` calls it a
 * regression, so the gate lives next to the number it guards.
 */

/** "relative": the allowed change is a fraction of the base value; "absolute": in the figure's unit. */
export const ThresholdKind = Schema.Literal("relative", "absolute")
export type ThresholdKind = typeof ThresholdKind.Type

export const Target = Schema.Struct({
  op: Schema.Literal(">=", "<="),
  value: Schema.Number,
  /** where the goal comes from, e.g. "server issue" */
  source: Schema.String,
  /** a goal the run must meet: missing it makes `meshkit bench` exit 1 (memory, not noisy timings) */
  enforced: Schema.optional(Schema.Boolean)
})
export type Target = typeof Target.Type

export const Figure = Schema.Struct({
  name: Schema.String,
  /** section of the report: policy, sim, server-hit, server-cold, density, machine */
  group: Schema.String,
  value: Schema.Number,
  unit: Schema.String,
  better: Schema.Literal("higher", "lower"),
  /** half the range (max − min) / 2 of the repeats, in the figure's unit; null for a single measurement */
  spread: Schema.NullOr(Schema.Number),
  /** allowed regression before compare fails; null = shown, never gated (too noisy to gate) */
  threshold: Schema.NullOr(Schema.Number),
  thresholdKind: ThresholdKind,
  repeats: Schema.optional(Schema.Number),
  target: Schema.optional(Target),
  description: Schema.optional(Schema.String)
})
export type Figure = typeof Figure.Type

export const MachineFacts = Schema.Struct({
  cpuModel: Schema.String,
  cores: Schema.Number,
  node: Schema.String,
  platform: Schema.String,
  totalMemoryBytes: Schema.Number,
  /** 1-minute load average when the run started: shows how busy the shared machine was */
  loadAverage1m: Schema.Number,
  /** 1-minute load average when the run ended (files written before it was recorded lack it) */
  loadAverage1mAtEnd: Schema.optional(Schema.Number),
  date: Schema.String
})
export type MachineFacts = typeof MachineFacts.Type

export const BenchReport = Schema.Struct({
  format: Schema.Literal("meshkit-bench/1"),
  name: Schema.String,
  quick: Schema.Boolean,
  command: Schema.String,
  machine: MachineFacts,
  wallSeconds: Schema.Number,
  figures: Schema.Array(Figure),
  /** what could not be measured, and why */
  notes: Schema.Array(Schema.String),
  /** extra series for the HTML charts (e.g. latency percentiles per repeat); free-form */
  charts: Schema.optional(Schema.Array(Schema.Unknown))
})
export type BenchReport = typeof BenchReport.Type

export class BenchFileError extends Error {
  override readonly name = "BenchFileError"
}

/** Parse and validate a report file's text; errors name the file and the bad field. */
export const decodeBenchReport = (text: string, file: string): BenchReport => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new BenchFileError(`${file}: not valid JSON (${messageOf(e)})`)
  }
  const r = Schema.decodeUnknownEither(BenchReport)(json, { errors: "all" })
  if (Either.isLeft(r)) {
    const issues = ParseResult.ArrayFormatter.formatErrorSync(r.left)
      .slice(0, 10)
      .map((i) => `  ${pathText(i.path)}: ${i.message}`)
    throw new BenchFileError(`${file}: not a meshkit bench report:\n${issues.join("\n")}`)
  }
  return r.right
}

/** ["figures", 0, "better"] → figures[0].better */
const pathText = (path: ReadonlyArray<PropertyKey>): string =>
  path.length === 0 ? "(top level)" : path.map((k, i) => (typeof k === "number" ? `[${k}]` : `${i === 0 ? "" : "."}${String(k)}`)).join("")

// ---- statistics over repeats -------------------------------------------------------------

export const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export const halfRange = (xs: ReadonlyArray<number>): number | null =>
  xs.length < 2 ? null : (Math.max(...xs) - Math.min(...xs)) / 2

export interface FigureInput {
  readonly name: string
  readonly group: string
  readonly unit: string
  readonly better: "higher" | "lower"
  readonly threshold: number | null
  readonly thresholdKind?: ThresholdKind
  readonly target?: Target
  readonly description?: string
  readonly digits?: number
}

/** A figure from repeated measurements: the median, with half the range as its spread. */
export const figureOf = (f: FigureInput, samples: ReadonlyArray<number>): Figure | undefined => {
  const finite = samples.filter(Number.isFinite)
  if (finite.length === 0) return undefined
  const round = (x: number) => roundTo(x, f.digits ?? 4)
  const spread = halfRange(finite)
  return {
    name: f.name,
    group: f.group,
    value: round(median(finite)),
    unit: f.unit,
    better: f.better,
    spread: spread === null ? null : round(spread),
    threshold: f.threshold,
    thresholdKind: f.thresholdKind ?? "relative",
    repeats: finite.length,
    ...(f.target ? { target: f.target } : {}),
    ...(f.description ? { description: f.description } : {})
  }
}

/** Round to `digits` significant digits (keeps small ratios and large req/s readable in JSON). */
export const roundTo = (x: number, digits: number): number => {
  if (x === 0 || !Number.isFinite(x)) return x
  return Number(x.toPrecision(digits))
}

export const meetsTarget = (f: Figure): boolean | undefined =>
  f.target === undefined ? undefined : f.target.op === ">=" ? f.value >= f.target.value : f.value <= f.target.value
