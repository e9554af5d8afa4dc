import { Schema } from "effect"
import { AzureTraceOptions, azureTrace } from "./azure.js"
import { CsvTraceOptions, csvTrace } from "./csv.js"
import { decodeOptions } from "./errors.js"
import { GeneratorOptions, generatedTrace } from "./generator.js"
import { MixOptions, mixedTrace } from "./mix.js"
import { OracleGeneralOptions, oracleGeneralTrace } from "./oracle-general.js"
import type { Trace } from "./types.js"

/**
 * `trace:` in a scenario: exactly one of `{csv: {...}}`, `{azure: {...}}`, `{generate: {...}}`.
 * A struct of three optional keys plus a check, rather than a union of three structs, so that a
 * bad field is reported once by its path (`generate.zipf: ...`) instead of once per union member.
 */
export const TraceSource = Schema.Struct({
  csv: Schema.optionalWith(CsvTraceOptions, { exact: true }),
  azure: Schema.optionalWith(AzureTraceOptions, { exact: true }),
  generate: Schema.optionalWith(GeneratorOptions, { exact: true }),
  mix: Schema.optionalWith(MixOptions, { exact: true }),
  oracleGeneral: Schema.optionalWith(OracleGeneralOptions, { exact: true })
}).pipe(
  Schema.filter((s) => {
    const given = (["csv", "azure", "generate", "mix", "oracleGeneral"] as const).filter((k) => s[k] !== undefined)
    return given.length === 1 ? undefined : `give exactly one trace source: csv, azure, generate, mix or oracleGeneral${given.length > 1 ? ` (got ${given.join(" and ")})` : ""}`
  })
)
export type TraceSource = typeof TraceSource.Type

/** Decodes a source (defaults applied) or throws a TraceError naming the bad field. */
export const decodeTraceSource = (input: unknown): TraceSource => decodeOptions("trace source", TraceSource, input)

/** The Trace a source describes (decoded or not: decoding is idempotent). */
export const openTrace = (input: typeof TraceSource.Encoded | TraceSource): Trace => {
  const source = decodeTraceSource(input)
  if (source.csv) return csvTrace(source.csv)
  if (source.azure) return azureTrace(source.azure)
  if (source.mix) return mixedTrace(source.mix)
  if (source.oracleGeneral) return oracleGeneralTrace(source.oracleGeneral)
  return generatedTrace(source.generate)
}
