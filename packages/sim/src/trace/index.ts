/**
 * Trace sources for the simulator: generic CSV, the Azure Functions 2019 trace, and a seeded
 * synthetic generator, all producing the streamed columnar Trace of ./types.ts.
 */
export type { ModelTable, Trace, TraceChunk } from "./types.js"
export { TraceError } from "./errors.js"
export { CSV_COLUMNS, CsvTraceOptions, csvTrace } from "./csv.js"
export { writeCsvTrace } from "./csv-writer.js"
export { AzureTraceOptions, azureTrace } from "./azure.js"
export { GeneratorOptions, generatedTrace } from "./generator.js"
export { MixOptions, mixedTrace } from "./mix.js"
export { OracleGeneralOptions, oracleGeneralTrace, isOracleGeneralPath, ORACLE_RECORD_BYTES } from "./oracle-general.js"
export { type ReadInto, type ZstdDecoderName, zstdDecoderInUse, zstdStream } from "./zstd-stream.js"
export { writeOracleGeneral, type OracleWriteResult } from "./oracle-writer.js"
export { traceStats, type TraceStats } from "./trace-stats.js"
export { TraceSource, decodeTraceSource, openTrace } from "./source.js"
export { type MaterializedTrace, materialize } from "./materialize.js"
