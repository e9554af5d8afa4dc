import { Data, Either, ParseResult, Schema } from "effect"

/**
 * Bad trace input or options. `message` is complete on its own (file:line, column number and
 * name) because it usually ends up printed by the CLI as is; the fields are for programs.
 */
export class TraceError extends Data.TaggedError("TraceError")<{
  readonly message: string
  readonly file?: string
  /** 1-based line in `file` */
  readonly line?: number
  /** 1-based field number in that line */
  readonly column?: number
  readonly columnName?: string
}> {}

/**
 * A trace's recorded next access (oracleGeneral's fourth field) that cannot be right: it points
 * at or before the request itself. The simulator then computes next uses itself.
 */
export class RecordedNextAccessError extends Data.TaggedError("RecordedNextAccessError")<{
  readonly message: string
}> {}

/**
 * A TraceError whose message starts `file:line: column 3 (size_bytes): ` (editors link the
 * `file:line` part). The column is the 1-based field number and/or the column's header name.
 */
export const inputError = (
  file: string,
  line: number,
  what: string,
  column?: { readonly index?: number; readonly name?: string }
): TraceError => {
  const index = column?.index
  const name = column?.name ? column.name : undefined
  const where =
    index !== undefined && name !== undefined ? `column ${index} (${name}): `
    : index !== undefined ? `column ${index}: `
    : name !== undefined ? `column ${name}: `
    : ""
  return new TraceError({
    message: `${file}:${line}: ${where}${what}`,
    file,
    line,
    ...(index !== undefined ? { column: index } : {}),
    ...(name !== undefined ? { columnName: name } : {})
  })
}

/**
 * Decodes source options (applying defaults) or throws a TraceError listing every bad field by
 * path, e.g. `invalid generate trace options: zipf: Expected a non-negative number, actual -1`
 * (`what` = "generate trace options").
 * Decoding is idempotent (every decoded value is also a valid input), so callers may pass either.
 */
export const decodeOptions = <A, I>(what: string, schema: Schema.Schema<A, I>, input: unknown): A => {
  const r = Schema.decodeUnknownEither(schema, { onExcessProperty: "error", errors: "all" })(input)
  if (Either.isRight(r)) return r.right
  throw new TraceError({ message: `invalid ${what}: ${formatIssues(r.left)}` })
}

/** One entry per field; a union's "Expected a, actual x" + "Expected b, actual x" become "Expected a | b, actual x". */
const formatIssues = (error: ParseResult.ParseError): string => {
  const byPath = new Map<string, string[]>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const key = issue.path.join(".")
    const list = byPath.get(key) ?? []
    list.push(issue.message)
    byPath.set(key, list)
  }
  return [...byPath]
    .map(([path, messages]) => {
      const parts = messages.map((m) => /^Expected (.*), actual (.*)$/s.exec(m))
      let text = messages.join("; ")
      if (messages.length > 1 && parts.every((p) => p !== null)) {
        const expected = [...new Set(parts.map((p) => p![1]))].filter((e) => e !== "undefined")
        text = `Expected ${expected.join(" | ")}, actual ${parts[0]![2]}`
      }
      return path === "" ? text : `${path}: ${text}`
    })
    .join("; ")
}
