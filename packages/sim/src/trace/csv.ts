import { createReadStream } from "node:fs"
import { basename } from "node:path"
import { Schema } from "effect"
import { ByteInterner, hashBytes } from "./byte-interner.js"
import { ChunkBuilder } from "./chunk-builder.js"
import { parseDecimal } from "./decimal.js"
import { TraceError, decodeOptions, inputError } from "./errors.js"
import { ModelTableBuilder } from "./model-table.js"
import type { Trace, TraceChunk } from "./types.js"

/**
 * Generic CSV trace: a header naming the columns (any order, case-insensitive), then one request
 * per line sorted by time.
 *
 *   time_ms,model,size_bytes[,tenant][,exec_ms]     (other columns are ignored)
 *
 * - time_ms: ≥ 0 and non-decreasing (an unsorted file is rejected at the first line that goes
 *   back in time: sorting would need the whole file in memory).
 * - size_bytes: ≥ 0. A model's size (and tenant) is the one on its first line; later lines may
 *   repeat it or not, they are not compared.
 * - tenant: optional; missing column or empty field = tenant "default" (one shared tenant, rather
 *   than one tenant per model, so per-tenant breakdowns stay meaningful).
 * - exec_ms: optional; empty field = NaN (the cluster configuration decides).
 * No quoting: ids must not contain commas or line breaks. Blank lines are skipped; CRLF and a
 * UTF-8 BOM are accepted.
 */
export const CsvTraceOptions = Schema.Struct({
  path: Schema.NonEmptyString.annotations({ description: "CSV file with header time_ms,model,size_bytes[,tenant][,exec_ms]" }),
  limit: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { exact: true }).annotations({
    description: "read at most this many requests"
  }),
  timeScale: Schema.optionalWith(Schema.Number.pipe(Schema.finite(), Schema.positive()), {
    default: () => 1,
    exact: true
  }).annotations({ description: "multiply every time_ms by this (0.5 = replay twice as fast)" })
})
export type CsvTraceOptions = typeof CsvTraceOptions.Type

/** The columns the CSV format knows; the first three are required. */
export const CSV_COLUMNS = ["time_ms", "model", "size_bytes", "tenant", "exec_ms"] as const

/** A trace read from a CSV file (options are validated now; the file is read while streaming). */
export const csvTrace = (input: typeof CsvTraceOptions.Encoded): Trace => {
  const opts = decodeOptions("csv trace options", CsvTraceOptions, input)
  const models = new ModelTableBuilder()
  const interner = new ByteInterner()
  return {
    name: basename(opts.path),
    models: models.table,
    chunks: () => readCsv(opts, models, interner)
  }
}

const READ_SIZE = 1 << 20

async function* readCsv(opts: CsvTraceOptions, models: ModelTableBuilder, interner: ByteInterner): AsyncGenerator<TraceChunk> {
  const parser = new CsvParser(opts.path, models, interner, opts.limit ?? Infinity, opts.timeScale)
  const stream = createReadStream(opts.path, { highWaterMark: READ_SIZE })
  try {
    // each read buffer is parsed up to its last newline; the partial line after it is joined
    // with the start of the next buffer (only that line is copied, not the whole buffer)
    let carry: Buffer | undefined
    let more = true
    for await (const piece of readable(stream, opts.path)) {
      let from = 0
      if (carry) {
        const first = piece.indexOf(10)
        if (first < 0) {
          carry = Buffer.concat([carry, piece])
          continue
        }
        const joined = Buffer.concat([carry, piece.subarray(0, first + 1)])
        carry = undefined
        more = parser.feed(joined, 0, joined.length)
        from = first + 1
      }
      const last = piece.lastIndexOf(10)
      if (more && last >= from) more = parser.feed(piece, from, last + 1)
      yield* parser.drain()
      if (!more) break
      const rest = Math.max(from, last + 1)
      if (rest < piece.length) carry = Buffer.from(piece.subarray(rest))
    }
    if (more && carry) parser.feed(carry, 0, carry.length)
    parser.finish()
    yield* parser.drain()
  } finally {
    stream.destroy()
  }
}

/** The stream's buffers, with I/O errors (missing file, directory, permissions) as TraceErrors. */
async function* readable(stream: AsyncIterable<Buffer>, file: string): AsyncGenerator<Buffer> {
  const it = stream[Symbol.asyncIterator]()
  for (;;) {
    let r: IteratorResult<Buffer>
    try {
      r = await it.next()
    } catch (e) {
      throw new TraceError({ message: `${file}: cannot read the trace: ${(e as Error).message}`, file })
    }
    if (r.done) return
    yield r.value
  }
}

const SKIP = 0
const TIME = 1
const MODEL = 2
const SIZE = 3
const TENANT = 4
const EXEC = 5
const ROLE_OF: Readonly<Record<string, number>> = { time_ms: TIME, model: MODEL, size_bytes: SIZE, tenant: TENANT, exec_ms: EXEC }

const TWO_53 = 2 ** 53
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k)
const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193
const COMMA = 44
const LF = 10
const CR = 13

/** The hand-written line parser: plain loops over bytes, one string made per new model only. */
class CsvParser {
  private line = 0
  private count = 0
  private prevTime = -Infinity
  private roles = new Uint8Array(0)
  private names: string[] = []
  private haveHeader = false
  private readonly chunk = new ChunkBuilder()
  private out: TraceChunk[] = []

  constructor(
    private readonly file: string,
    private readonly models: ModelTableBuilder,
    private readonly interner: ByteInterner,
    private readonly limit: number,
    private readonly timeScale: number
  ) {}

  /** Parses the complete lines in buf[start, end); false once `limit` requests were read. */
  feed(buf: Buffer, start: number, end: number): boolean {
    let p = start
    if (!this.haveHeader) {
      let nl = buf.indexOf(LF, p)
      if (nl < 0 || nl >= end) nl = end
      this.header(buf.toString("utf8", p, nl))
      p = nl + 1
    }
    while (p < end) {
      if (this.count >= this.limit) return false
      this.line++
      const c = buf[p]
      if (c === LF) {
        p++
        continue
      }
      if (c === CR && (p + 1 === end || buf[p + 1] === LF)) {
        p += 2
        continue
      }
      p = this.parseLine(buf, p, end)
    }
    return this.count < this.limit
  }

  /** Chunks completed so far. */
  drain(): TraceChunk[] {
    const done = this.out
    this.out = []
    return done
  }

  finish(): void {
    if (!this.haveHeader) throw inputError(this.file, 1, `empty file: expected a header line ${CSV_COLUMNS.join(",")}`)
    if (this.count === 0) throw inputError(this.file, this.line + 1, "no requests after the header")
    if (this.chunk.length > 0) this.out.push(this.chunk.take())
  }

  private header(text: string): void {
    this.line = 1
    this.haveHeader = true
    const names = text.replace(/^\uFEFF/, "").replace(/\r$/, "").split(",").map((n) => n.trim().toLowerCase())
    if (names.length === 1 && names[0] === "") {
      throw inputError(this.file, 1, `empty header: expected ${CSV_COLUMNS.join(",")}`)
    }
    const roles = new Uint8Array(names.length)
    names.forEach((n, i) => {
      const role = ROLE_OF[n] ?? SKIP
      if (role !== SKIP && roles.includes(role)) {
        throw inputError(this.file, 1, `duplicate column "${n}"`, { index: i + 1, name: n })
      }
      roles[i] = role
    })
    for (const required of CSV_COLUMNS.slice(0, 3)) {
      if (!names.includes(required)) {
        throw inputError(
          this.file,
          1,
          `missing required column "${required}" (header has: ${names.join(", ")}; needs time_ms, model, size_bytes, optional tenant, exec_ms)`,
          { name: required }
        )
      }
    }
    this.roles = roles
    this.names = names
  }

  private parseLine(buf: Buffer, p: number, end: number): number {
    const roles = this.roles
    const nCols = roles.length
    let time = NaN
    let size = NaN
    let exec = NaN
    let mStart = 0
    let mEnd = 0
    let mHash = 0
    let tStart = -1
    let tEnd = -1
    let col = 0
    for (;;) {
      const s = p
      const role = roles[col]
      // numeric fields are parsed while scanning for the delimiter (the fast path of decimal.ts,
      // fused); anything unusual in them (exponent, '+', spaces, a CR) goes through parseDecimal
      let w = 0
      let digits = 0
      let dot = -1
      let odd = 0
      let oddAt = -1
      if (role === MODEL) {
        let h = FNV_OFFSET
        let c = 0
        while (p < end && (c = buf[p]!) !== COMMA && c !== LF) {
          h = Math.imul(h ^ c, FNV_PRIME)
          p++
        }
        mHash = h >>> 0
      } else if (role === TIME || role === SIZE || role === EXEC) {
        let c = 0
        while (p < end && (c = buf[p]!) !== COMMA && c !== LF) {
          const d = c - 48
          if (d >= 0 && d <= 9) {
            w = w * 10 + d
            digits++
          } else if (c === 46 && dot < 0) dot = p
          else {
            odd++
            oddAt = p
          }
          p++
        }
      } else {
        let c = 0
        while (p < end && (c = buf[p]!) !== COMMA && c !== LF) p++
      }
      const atComma = p < end && buf[p] === COMMA
      let e = p
      if (!atComma && e > s && buf[e - 1] === CR) e--
      let value = NaN
      if (role === TIME || role === SIZE || role === EXEC) {
        const plain = odd === 0 || (odd === 1 && oddAt === e) // the only odd byte was a stripped CR
        value =
          plain && digits > 0 && w < TWO_53 && (dot < 0 || e - dot - 1 <= 22)
            ? dot < 0 ? w : w / POW10[e - dot - 1]!
            : parseDecimal(buf, s, e) // negatives, exponents, long fractions, junk (NaN)
      }
      switch (role) {
        case TIME:
          time = value
          if (Number.isNaN(time)) throw this.fieldError(col, `${this.quote(buf, s, e)} is not a number`)
          if (time < 0) throw this.fieldError(col, `time_ms must be ≥ 0, got ${this.text(buf, s, e)}`)
          break
        case SIZE:
          size = value
          if (Number.isNaN(size)) throw this.fieldError(col, `${this.quote(buf, s, e)} is not a number`)
          if (size < 0) throw this.fieldError(col, `size_bytes must be ≥ 0, got ${this.text(buf, s, e)}`)
          break
        case EXEC:
          if (e > s) {
            exec = value
            if (Number.isNaN(exec)) throw this.fieldError(col, `${this.quote(buf, s, e)} is not a number (leave it empty when unknown)`)
            if (exec < 0) throw this.fieldError(col, `exec_ms must be ≥ 0, got ${this.text(buf, s, e)}`)
          }
          break
        case MODEL:
          if (e === s) throw this.fieldError(col, "empty model id")
          if (e !== p) mHash = hashBytes(buf, s, e) // a CR was stripped after hashing
          mStart = s
          mEnd = e
          break
        case TENANT:
          tStart = s
          tEnd = e
          break
      }
      col++
      if (atComma) {
        if (col === nCols) throw this.fieldError(col, `more than the header's ${nCols} columns`, "")
        p++
        continue
      }
      if (col < nCols) {
        throw this.fieldError(col, `line has ${col} columns, the header has ${nCols}`, this.names[col])
      }
      if (p < end) p++ // the LF
      break
    }
    if (time < this.prevTime) {
      throw this.fieldError(
        this.roles.indexOf(TIME),
        `time_ms ${time} is earlier than the previous request's ${this.prevTime}: the trace must be sorted by time`
      )
    }
    this.prevTime = time
    let model = this.interner.find(buf, mStart, mEnd, mHash)
    if (model < 0) {
      const tenant = tStart >= 0 && tEnd > tStart ? buf.toString("utf8", tStart, tEnd) : "default"
      model = this.models.intern(buf.toString("utf8", mStart, mEnd), tenant, size)
      this.interner.add(buf, mStart, mEnd, mHash, model)
    }
    this.chunk.push(time * this.timeScale, model, exec)
    this.count++
    if (this.chunk.full) this.out.push(this.chunk.take())
    return p
  }

  private fieldError(col: number, what: string, name: string | undefined = this.names[col]): TraceError {
    return inputError(this.file, this.line, what, name === undefined ? { index: col + 1 } : { index: col + 1, name })
  }

  private text(buf: Buffer, s: number, e: number): string {
    return buf.toString("utf8", s, Math.min(e, s + 80))
  }

  private quote(buf: Buffer, s: number, e: number): string {
    return JSON.stringify(this.text(buf, s, e))
  }
}
