import { readdirSync } from "node:fs"
import { basename, join } from "node:path"
import { Schema } from "effect"
import { makeRng } from "@meshkit/core"
import { TraceError, decodeOptions, inputError } from "./errors.js"
import { ModelTableBuilder } from "./model-table.js"
import { PercentileCurve } from "./percentile-curve.js"
import { type CsvHeader, csvLines, headerOf, numberField } from "./text-csv.js"
import type { Trace, TraceChunk } from "./types.js"

/**
 * The Azure Functions 2019 trace (per-minute invocation counts, per-app memory, per-function
 * run-time percentiles) expanded into requests exactly as ../shared/reference/research.md fixes
 * it, so miss ratios compare with other simulators:
 *
 *   for each function row r (file order) and minute m (0-based) with count c > 0, c requests at
 *   m*60000 + floor(i*60000/c), i = 0..c-1, stably sorted by time (equal times: earlier row
 *   first, then by i).
 *
 * Model id = first 16 characters of HashFunction, tenant = first 16 of HashOwner ("default" when
 * the file has no owner column), size = AverageAllocatedMb of the function's app × 1 MiB.
 * Functions whose app has no memory row get the median AverageAllocatedMb of the memory file
 * (`missingMemory: "median"`, default) or are left out (`"skip"`); the shared 1000-function
 * sample has a memory row for every app. Execution time: the function's Average run time
 * (`exec: "average"`), a deterministic sample from its percentile curve (`"sampled"`, seeded),
 * or NaN (`"none"`, the cluster decides); NaN too for functions without a run-time row.
 */
export const AzureTraceOptions = Schema.Struct({
  dir: Schema.optionalWith(Schema.NonEmptyString, { exact: true }).annotations({
    description: "directory holding *_inv.csv, *_mem.csv and optionally *_run.csv (or the dataset's long names)"
  }),
  invocations: Schema.optionalWith(Schema.NonEmptyString, { exact: true }).annotations({
    description: "invocations-per-minute file (overrides the one found in dir)"
  }),
  memory: Schema.optionalWith(Schema.NonEmptyString, { exact: true }).annotations({
    description: "app memory file (overrides the one found in dir)"
  }),
  durations: Schema.optionalWith(Schema.NonEmptyString, { exact: true }).annotations({
    description: "function duration percentiles file (overrides the one found in dir; optional)"
  }),
  minutes: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { exact: true }).annotations({
    description: "take only the first N minutes (default: every minute column)"
  }),
  exec: Schema.optionalWith(Schema.Literal("average", "sampled", "none"), { default: () => "average" as const, exact: true }),
  seed: Schema.optionalWith(Schema.Int, { default: () => 1, exact: true }).annotations({
    description: "seed for exec: sampled"
  }),
  missingMemory: Schema.optionalWith(Schema.Literal("median", "skip"), { default: () => "median" as const, exact: true })
}).pipe(
  Schema.filter((o) =>
    o.dir !== undefined || (o.invocations !== undefined && o.memory !== undefined)
      ? undefined
      : "give dir, or both invocations and memory file paths"
  )
)
export type AzureTraceOptions = typeof AzureTraceOptions.Type

export const azureTrace = (input: typeof AzureTraceOptions.Encoded): Trace => {
  const opts = decodeOptions("azure trace options", AzureTraceOptions, input)
  const files = azureFiles(opts)
  const models = new ModelTableBuilder()
  let table: Promise<AzureTable> | undefined
  const load = () => (table ??= loadAzure(files, opts))
  // a failed load is not cached: the next chunks() call retries (and reports the error again)
  const loaded = async () => load().catch((e) => ((table = undefined), Promise.reject(e)))
  return {
    name: `azure-functions-2019 ${basename(opts.dir ?? files.invocations)}${opts.minutes ? ` (${opts.minutes} min)` : ""}`,
    models: models.table,
    chunks: () => expand(loaded, models, opts)
  }
}

interface AzureFiles {
  readonly invocations: string
  readonly memory: string
  readonly durations: string | undefined
}

const PATTERNS = {
  invocations: /(^|_)inv\.csv$|^invocations_per_function.*\.csv$/,
  memory: /(^|_)mem\.csv$|^app_memory_percentiles.*\.csv$/,
  durations: /(^|_)run\.csv$|^function_durations_percentiles.*\.csv$/
}

const azureFiles = (opts: AzureTraceOptions): AzureFiles => {
  let listing: string[] | undefined
  const pick = (kind: keyof typeof PATTERNS, required: boolean): string | undefined => {
    const explicit = opts[kind]
    if (explicit !== undefined) return explicit
    if (opts.dir === undefined) return undefined
    try {
      listing ??= readdirSync(opts.dir).sort()
    } catch (e) {
      throw new TraceError({ message: `azure trace dir ${opts.dir}: ${(e as Error).message}`, file: opts.dir })
    }
    const found = listing.filter((f) => PATTERNS[kind].test(f))
    if (found.length === 1) return join(opts.dir, found[0]!)
    if (found.length === 0 && !required) return undefined
    throw new TraceError({
      message:
        found.length === 0
          ? `azure trace dir ${opts.dir}: no ${kind} file (expected a name matching ${PATTERNS[kind]})`
          : `azure trace dir ${opts.dir}: several ${kind} files (${found.join(", ")}): pick one with the "${kind}" option`,
      file: opts.dir
    })
  }
  return { invocations: pick("invocations", true)!, memory: pick("memory", true)!, durations: pick("durations", false) }
}

/** Function rows and their non-zero counts, grouped by minute (CSR): small, kept for replays. */
interface AzureTable {
  readonly minutes: number
  readonly rowId: string[]
  readonly rowTenant: string[]
  readonly rowSize: Float64Array
  /** Average run time (ms) per row, NaN when unknown */
  readonly rowAverage: Float64Array
  readonly rowCurve: (PercentileCurve | undefined)[]
  /** entries of minute m are [minuteStart[m], minuteStart[m + 1]), in row order */
  readonly minuteStart: Int32Array
  readonly entryRow: Int32Array
  readonly entryCount: Int32Array
}

const MIB = 1_048_576
const MINUTE_MS = 60_000

const loadAzure = async (files: AzureFiles, opts: AzureTraceOptions): Promise<AzureTable> => {
  const memory = await loadMemory(files.memory)
  const durations = files.durations === undefined ? undefined : await loadDurations(files.durations)
  let header: CsvHeader | undefined
  let fnCol = 0
  let appCol = 0
  let ownerCol = -1
  /** minuteCols[m] = field index of minute m */
  let minuteCols: number[] = []
  let minutes = 0
  const rowId: string[] = []
  const rowTenant: string[] = []
  const rowSize: number[] = []
  const rowAverage: number[] = []
  const rowCurve: (PercentileCurve | undefined)[] = []
  const entries = new Growable()
  for await (const { line, fields } of csvLines(files.invocations)) {
    if (header === undefined) {
      header = headerOf(files.invocations, fields)
      fnCol = header.require("HashFunction")
      appCol = header.require("HashApp")
      ownerCol = header.find("HashOwner")
      minuteCols = minuteColumns(header)
      if (minuteCols.length === 0) {
        throw inputError(files.invocations, 1, "no minute columns (expected minute_1, minute_2, … or 1, 2, …)")
      }
      if (opts.minutes !== undefined && opts.minutes > minuteCols.length) {
        throw new TraceError({
          message: `azure trace: minutes = ${opts.minutes} but ${files.invocations} has ${minuteCols.length} minute columns`,
          file: files.invocations
        })
      }
      minutes = opts.minutes ?? minuteCols.length
      continue
    }
    const fn = fields[fnCol]?.trim() ?? ""
    const app = fields[appCol]?.trim() ?? ""
    if (fn === "") throw inputError(files.invocations, line, "empty HashFunction", { index: fnCol + 1, name: "HashFunction" })
    let mb = memory.byApp.get(app)
    if (mb === undefined) {
      if (opts.missingMemory === "skip") continue
      mb = memory.median
    }
    const row = rowId.length
    for (let m = 0; m < minutes; m++) {
      const col = minuteCols[m]!
      const c = numberField(header, line, fields, col)
      if (c < 0 || !Number.isInteger(c)) {
        throw inputError(files.invocations, line, `invocation count must be a non-negative integer, got ${fields[col]}`, {
          index: col + 1,
          name: header.names[col]!
        })
      }
      if (c > 0) entries.push(m, row, c)
    }
    const run = durations?.get(durationKey(app, fn)) ?? durations?.get(durationKey("", fn))
    rowId.push(fn.slice(0, 16))
    rowTenant.push(ownerCol >= 0 && fields[ownerCol]?.trim() ? fields[ownerCol]!.trim().slice(0, 16) : "default")
    rowSize.push(mb * MIB)
    rowAverage.push(run?.average ?? NaN)
    rowCurve.push(run?.curve)
  }
  if (header === undefined) throw inputError(files.invocations, 1, "empty file: expected a header HashFunction,HashApp,HashOwner,minute_1,…")
  // counting sort of the entries by minute; stable, so each minute keeps file (row) order
  const minuteStart = new Int32Array(minutes + 1)
  for (let k = 0; k < entries.length; k++) minuteStart[entries.minute[k]! + 1]!++
  for (let m = 0; m < minutes; m++) minuteStart[m + 1]! += minuteStart[m]!
  const next = minuteStart.slice(0, minutes)
  const entryRow = new Int32Array(entries.length)
  const entryCount = new Int32Array(entries.length)
  for (let k = 0; k < entries.length; k++) {
    const at = next[entries.minute[k]!]!++
    entryRow[at] = entries.row[k]!
    entryCount[at] = entries.count[k]!
  }
  return {
    minutes,
    rowId,
    rowTenant,
    rowSize: Float64Array.from(rowSize),
    rowAverage: Float64Array.from(rowAverage),
    rowCurve,
    minuteStart,
    entryRow,
    entryCount
  }
}

/** Minute columns in minute order: "minute_1".."minute_1440" (the sample) or "1".."1440" (the dataset). */
const minuteColumns = (header: CsvHeader): number[] => {
  const cols: { minute: number; index: number }[] = []
  header.names.forEach((n, index) => {
    const m = /^(?:minute_)?(\d+)$/.exec(n)
    if (m) cols.push({ minute: Number(m[1]), index })
  })
  cols.sort((a, b) => a.minute - b.minute)
  cols.forEach((c, i) => {
    if (c.minute !== i + 1) {
      throw inputError(header.file, 1, `minute columns must be 1, 2, 3, …: found ${c.minute} where ${i + 1} belongs`, {
        index: c.index + 1,
        name: header.names[c.index]!
      })
    }
  })
  return cols.map((c) => c.index)
}

const loadMemory = async (file: string): Promise<{ byApp: Map<string, number>; median: number }> => {
  const byApp = new Map<string, number>()
  let header: CsvHeader | undefined
  let appCol = 0
  let mbCol = 0
  for await (const { line, fields } of csvLines(file)) {
    if (header === undefined) {
      header = headerOf(file, fields)
      appCol = header.require("HashApp")
      mbCol = header.require("AverageAllocatedMb")
      continue
    }
    const app = fields[appCol]?.trim() ?? ""
    const mb = numberField(header, line, fields, mbCol)
    if (mb < 0) throw inputError(file, line, `memory must be ≥ 0, got ${mb}`, { index: mbCol + 1, name: "AverageAllocatedMb" })
    if (!byApp.has(app)) byApp.set(app, mb)
  }
  if (byApp.size === 0) throw inputError(file, 1, "no memory rows (expected a header HashApp,…,AverageAllocatedMb,… and one row per app)")
  const sorted = [...byApp.values()].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return { byApp, median }
}

const durationKey = (app: string, fn: string) => `${app}\u0000${fn}`

const loadDurations = async (file: string): Promise<Map<string, { average: number; curve: PercentileCurve | undefined }>> => {
  const byFunction = new Map<string, { average: number; curve: PercentileCurve | undefined }>()
  let header: CsvHeader | undefined
  let fnCol = 0
  let appCol = -1
  let avgCol = 0
  let pcts: { p: number; index: number }[] = []
  for await (const { line, fields } of csvLines(file)) {
    if (header === undefined) {
      header = headerOf(file, fields)
      fnCol = header.require("HashFunction")
      appCol = header.find("HashApp")
      avgCol = header.require("Average")
      header.names.forEach((n, index) => {
        const m = /^percentile_Average_(\d+)$/.exec(n)
        if (m && Number(m[1]) <= 100) pcts.push({ p: Number(m[1]), index })
      })
      pcts = pcts.sort((a, b) => a.p - b.p)
      continue
    }
    const fn = fields[fnCol]?.trim() ?? ""
    const app = appCol >= 0 ? (fields[appCol]?.trim() ?? "") : ""
    const average = numberField(header, line, fields, avgCol, true)
    const values = Float64Array.from(pcts, (c) => numberField(header!, line, fields, c.index, true))
    const curve =
      pcts.length > 0 && values.every((v) => Number.isFinite(v) && v >= 0)
        ? new PercentileCurve(Float64Array.from(pcts, (c) => c.p), values)
        : undefined
    const key = durationKey(app, fn)
    if (!byFunction.has(key)) byFunction.set(key, { average: average >= 0 ? average : NaN, curve })
  }
  return byFunction
}

/** Parallel growable columns of (minute, row, count). */
class Growable {
  minute = new Int32Array(1024)
  row = new Int32Array(1024)
  count = new Int32Array(1024)
  length = 0

  push(minute: number, row: number, count: number): void {
    if (this.length === this.minute.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2)
        b.set(a)
        return b
      }
      this.minute = grow(this.minute)
      this.row = grow(this.row)
      this.count = grow(this.count)
    }
    this.minute[this.length] = minute
    this.row[this.length] = row
    this.count[this.length] = count
    this.length++
  }
}

/**
 * One chunk per non-empty minute. Within a minute the stable time order is a counting sort on
 * the millisecond offset (60,000 buckets): filling the buckets row by row, i by i, gives exactly
 * the (time, row, i) order a stable sort of the whole list gives, in O(requests + 60,000).
 */
async function* expand(
  loaded: () => Promise<AzureTable>,
  models: ModelTableBuilder,
  opts: AzureTraceOptions
): AsyncGenerator<TraceChunk> {
  const t = await loaded()
  const rng = makeRng(opts.seed)
  const modelOfRow = new Int32Array(t.rowId.length).fill(-1)
  const bucket = new Int32Array(MINUTE_MS + 1)
  for (let m = 0; m < t.minutes; m++) {
    const from = t.minuteStart[m]!
    const to = t.minuteStart[m + 1]!
    if (from === to) continue
    bucket.fill(0)
    let n = 0
    for (let k = from; k < to; k++) {
      const c = t.entryCount[k]!
      n += c
      for (let i = 0; i < c; i++) bucket[Math.floor((i * MINUTE_MS) / c) + 1]!++
    }
    for (let o = 0; o < MINUTE_MS; o++) bucket[o + 1]! += bucket[o]!
    const rowAt = new Int32Array(n)
    for (let k = from; k < to; k++) {
      const c = t.entryCount[k]!
      const row = t.entryRow[k]!
      for (let i = 0; i < c; i++) rowAt[bucket[Math.floor((i * MINUTE_MS) / c)]!++] = row
    }
    // bucket[o] now ends offset o's run (= start of o + 1): walk the offsets to recover times
    const timeMs = new Float64Array(n)
    const model = new Int32Array(n)
    const execMs = new Float64Array(n)
    const base = m * MINUTE_MS
    let o = 0
    for (let j = 0; j < n; j++) {
      while (bucket[o]! <= j) o++
      timeMs[j] = base + o
      const row = rowAt[j]!
      let mi = modelOfRow[row]!
      if (mi < 0) mi = modelOfRow[row] = models.intern(t.rowId[row]!, t.rowTenant[row]!, t.rowSize[row]!)
      model[j] = mi
      if (opts.exec === "average") execMs[j] = t.rowAverage[row]!
      else if (opts.exec === "sampled") {
        const curve = t.rowCurve[row]
        execMs[j] = curve ? curve.at(rng.next()) : NaN
      } else execMs[j] = NaN
    }
    yield { length: n, timeMs, model, execMs }
  }
}
