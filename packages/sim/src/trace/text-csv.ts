import { createReadStream } from "node:fs"
import { createInterface } from "node:readline"
import { TraceError, inputError } from "./errors.js"

/**
 * Line-by-line reader for small or wide CSV files (the Azure tables: a thousand to tens of
 * thousands of lines), where readline's cost does not matter. No quoting, like the trace format.
 */
export interface CsvHeader {
  readonly file: string
  readonly names: readonly string[]
  /** index of a column by exact header name; throws a TraceError naming it when absent */
  require(name: string): number
  /** index, or -1 */
  find(name: string): number
}

export async function* csvLines(file: string): AsyncGenerator<{ readonly line: number; readonly fields: string[] }> {
  const stream = createReadStream(file)
  const failure = new Promise<never>((_, reject) =>
    stream.once("error", (e) => reject(new TraceError({ message: `${file}: cannot read: ${e.message}`, file })))
  )
  failure.catch(() => {})
  const lines = createInterface({ input: stream, crlfDelay: Infinity })
  const it = lines[Symbol.asyncIterator]()
  let line = 0
  try {
    for (;;) {
      const r = await Promise.race([it.next(), failure])
      if (r.done) return
      line++
      const text = line === 1 ? r.value.replace(/^\uFEFF/, "") : r.value
      if (text.trim() === "") continue
      yield { line, fields: text.split(",") }
    }
  } finally {
    lines.close()
    stream.destroy()
  }
}

export const headerOf = (file: string, fields: readonly string[]): CsvHeader => {
  const names = fields.map((f) => f.trim())
  const find = (name: string) => names.indexOf(name)
  return {
    file,
    names,
    find,
    require: (name) => {
      const i = find(name)
      if (i < 0) throw inputError(file, 1, `missing required column "${name}" (header has: ${abbreviate(names)})`, { name })
      return i
    }
  }
}

/** A finite number from field `index` of a row, or a TraceError naming file, line and column. */
export const numberField = (
  header: CsvHeader,
  line: number,
  fields: readonly string[],
  index: number,
  allowEmpty = false
): number => {
  const text = (fields[index] ?? "").trim()
  if (text === "" && allowEmpty) return NaN
  const v = text === "" ? NaN : Number(text)
  if (!Number.isFinite(v)) {
    const what = index >= fields.length ? `missing (the line has ${fields.length} columns)` : `${JSON.stringify(text)} is not a number`
    throw inputError(header.file, line, what, { index: index + 1, name: header.names[index] ?? "" })
  }
  return v
}

const abbreviate = (names: readonly string[]): string =>
  names.length <= 12 ? names.join(", ") : `${names.slice(0, 10).join(", ")}, … (${names.length} columns)`
