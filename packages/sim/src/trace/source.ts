import { Schema } from "effect"
import { AzureTraceOptions, azureTrace } from "./azure.js"
import { CsvTraceOptions, csvTrace } from "./csv.js"
import { GeneratorOptions, generatedTrace } from "./generator.js"
import type { Trace } from "./types.js"

/** `trace:` in a scenario: exactly one of `{csv: {...}}`, `{azure: {...}}`, `{generate: {...}}`. */
export const TraceSource = Schema.Union(
  Schema.Struct({ csv: CsvTraceOptions }),
  Schema.Struct({ azure: AzureTraceOptions }),
  Schema.Struct({ generate: GeneratorOptions })
)
export type TraceSource = typeof TraceSource.Type

/** The Trace a (decoded) source describes. */
export const openTrace = (source: TraceSource): Trace =>
  "csv" in source ? csvTrace(source.csv) : "azure" in source ? azureTrace(source.azure) : generatedTrace(source.generate)
