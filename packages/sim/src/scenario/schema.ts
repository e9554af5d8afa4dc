import { parseBytes, PolicyChoice } from "@meshkit/core"
import { ParseResult, Schema } from "effect"
import { AzureTraceOptions, CsvTraceOptions, GeneratorOptions, OracleGeneralOptions } from "../trace/index.js"

/** A byte size: a number, or a string with a unit ("16GiB", "512MiB", "1.5GB"). */
export const Bytes = Schema.Union(
  Schema.Number.pipe(Schema.finite(), Schema.nonNegative()),
  Schema.transformOrFail(Schema.String, Schema.Number, {
    strict: true,
    decode: (text, _, ast) => {
      try {
        return ParseResult.succeed(parseBytes(text))
      } catch (e) {
        return ParseResult.fail(new ParseResult.Type(ast, text, (e as Error).message))
      }
    },
    encode: (n) => ParseResult.succeed(String(n))
  })
).annotations({ identifier: "Bytes", description: "bytes, or a size with a unit: 512MiB, 16GiB" })

const PositiveBytes = Bytes.pipe(Schema.filter((n) => n > 0 || "must be more than 0 bytes"))
const PositiveMs = Schema.Number.pipe(Schema.finite(), Schema.positive())
const NonNegativeMs = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())
const Count = Schema.Int.pipe(Schema.positive())
const opt = <A, I>(schema: Schema.Schema<A, I>, value: () => A) =>
  Schema.optionalWith(schema, { default: value, exact: true })

/** Execution time for requests whose trace has none: one of the three forms. */
export const ExecTime = Schema.Union(
  Schema.Struct({ constantMs: NonNegativeMs }),
  Schema.Struct({ lognormal: Schema.Struct({ medianMs: PositiveMs, sigma: Schema.Number.pipe(Schema.nonNegative()) }) }),
  Schema.Struct({ exponential: Schema.Struct({ meanMs: PositiveMs }) })
).annotations({ identifier: "ExecTime", description: "{constantMs} | {lognormal: {medianMs, sigma}} | {exponential: {meanMs}}" })
export type ExecTime = typeof ExecTime.Type

export const LoadModel = Schema.Struct({
  /** per-load fixed cost (runtime start, session creation) */
  fixedMs: opt(NonNegativeMs, () => 100),
  /** bytes per second a load reads (disk / network / PCIe) */
  bandwidth: opt(PositiveBytes, () => 1024 ** 3),
  /** lognormal spread (σ) of each load's time around fixed + size / bandwidth (mean kept); 0 = none */
  sigma: opt(Schema.Number.pipe(Schema.finite(), Schema.nonNegative()), () => 0)
})

export const Cluster = Schema.Struct({
  instances: opt(Count, () => 4),
  /** memory of each instance */
  memory: PositiveBytes,
  maxConcurrentLoads: opt(Count, () => 2),
  load: opt(LoadModel, () => ({ fixedMs: 100, bandwidth: 1024 ** 3, sigma: 0 })),
  unloadMs: opt(NonNegativeMs, () => 10),
  exec: opt(ExecTime, () => ({ constantMs: 10 })),
  modelConcurrency: opt(Count, () => 4),
  maxCopies: opt(Count, () => 5),
  /** threads per instance that run loads and inferences one at a time; 0 = unlimited (see ClusterConfig) */
  runtimeThreads: opt(Schema.Int.pipe(Schema.nonNegative()), () => 0),
  /** latency outside the instance added to every request (network, client), ms; holds nothing */
  requestOverheadMs: opt(NonNegativeMs, () => 0)
})
export type Cluster = typeof Cluster.Type

const Choice = Schema.Union(Schema.String, PolicyChoice)

export const Policies = Schema.Struct({
  /**
   * eviction policies to compare: a list, or "online" (every online policy) or "all" (online
   * plus the offline belady bounds)
   */
  eviction: opt(Schema.Union(Schema.Literal("online", "all"), Schema.Array(Choice).pipe(Schema.minItems(1))), () => "online" as const),
  placement: opt(Choice, () => "modelmesh"),
  routing: opt(Choice, () => "least-in-flight"),
  /** a scaling policy, or "none" for one copy per model */
  scaling: opt(Choice, () => "modelmesh")
})

export const Slo = Schema.Struct({ latencyMs: PositiveMs })

export const Sweep = Schema.Struct({
  /** memory per instance, one run per value and policy */
  memory: Schema.Array(PositiveBytes).pipe(Schema.minItems(1))
})

/**
 * `trace:` names exactly one source. A struct with three optional members (rather than a union)
 * so that an error inside, say, `azure` is reported at `trace.azure.<field>` only.
 */
export const TraceSpec = Schema.Struct({
  csv: Schema.optionalWith(CsvTraceOptions, { exact: true }),
  azure: Schema.optionalWith(AzureTraceOptions, { exact: true }),
  generate: Schema.optionalWith(GeneratorOptions, { exact: true }),
  oracleGeneral: Schema.optionalWith(OracleGeneralOptions, { exact: true })
}).pipe(
  Schema.filter((t) => {
    const n = [t.csv, t.azure, t.generate, t.oracleGeneral].filter((x) => x !== undefined).length
    return n === 1 || `give exactly one trace source: csv, azure, generate or oracleGeneral (got ${n})`
  })
)

export const Scenario = Schema.Struct({
  name: Schema.optionalWith(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._-]+$/)), { exact: true }),
  description: opt(Schema.String, () => ""),
  seed: opt(Schema.Int, () => 1),
  /** full: the cluster with timing; ideal: one cache, zero load/exec time (a pure cache replay) */
  mode: opt(Schema.Literal("full", "ideal"), () => "full" as const),
  trace: TraceSpec,
  cluster: Cluster,
  policies: opt(Policies, () => ({
    eviction: "online" as const,
    placement: "modelmesh",
    routing: "least-in-flight",
    scaling: "modelmesh"
  })),
  slo: opt(Slo, () => ({ latencyMs: 100 })),
  sweep: Schema.optionalWith(Sweep, { exact: true })
})
export type Scenario = typeof Scenario.Type
