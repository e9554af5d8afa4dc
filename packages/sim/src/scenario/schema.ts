import { parseBytes, PolicyChoice } from "@meshkit/core"
import { ParseResult, Schema } from "effect"
import { AzureTraceOptions, CsvTraceOptions, GeneratorOptions, MixOptions, OracleGeneralOptions } from "../trace/index.js"

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

const Choice = Schema.Union(Schema.String, PolicyChoice)

/**
 * Dynamic batching on every copy (see the server's --max-batch-size): the batching policy, and
 * what one more row costs as a fraction of a whole run (`meshkit bench --only batching` measures
 * it as batchRowCost: 0.06 for a 4 MiB MLP on this 2-core machine kind).
 */
export const Batching = Schema.Struct({
  policy: opt(Choice, () => "dynamic"),
  rowCost: opt(Schema.Number.pipe(Schema.finite(), Schema.between(0, 10)), () => 0.06)
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
  requestOverheadMs: opt(NonNegativeMs, () => 0),
  /** time an unload holds a runtime thread of its instance (needs runtimeThreads ≥ 1), ms; 0 = none (see ClusterConfig) */
  unloadHoldMs: opt(NonNegativeMs, () => 0),
  batching: Schema.optionalWith(Batching, { exact: true })
})
export type Cluster = typeof Cluster.Type

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

/**
 * A tenant's guaranteed memory share on each instance, as in the server's tenants file: bytes
 * ("2GiB", or a number above 1) or a fraction of the instance's memory (a number from 0 to 1,
 * or "25%"). Decoded to one of the two forms.
 */
export const ShareAmount = Schema.Union(
  Schema.Number.pipe(Schema.finite(), Schema.nonNegative()),
  Schema.String
).pipe(
  Schema.transformOrFail(Schema.Union(Schema.Struct({ bytes: Schema.Number }), Schema.Struct({ fraction: Schema.Number })), {
    strict: true,
    decode: (v, _, ast) => {
      if (typeof v === "number") return ParseResult.succeed(v <= 1 ? { fraction: v } : { bytes: v })
      const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v)
      if (pct) {
        const f = Number(pct[1]) / 100
        return f <= 1 ? ParseResult.succeed({ fraction: f }) : ParseResult.fail(new ParseResult.Type(ast, v, `a share of at most 100%, got ${v}`))
      }
      try {
        return ParseResult.succeed({ bytes: parseBytes(v) })
      } catch (e) {
        return ParseResult.fail(new ParseResult.Type(ast, v, (e as Error).message))
      }
    },
    encode: (a) => ParseResult.succeed("bytes" in a ? a.bytes : a.fraction)
  })
).annotations({ identifier: "ShareAmount", description: "bytes (2GiB) or a fraction of the instance's memory (0.25, 25%)" })

export const TenantShare = Schema.Struct({
  /** the tenant's id, as the trace names it (the CSV tenant column, the Azure owner, tenant-NN) */
  id: Schema.String.pipe(Schema.minLength(1)),
  /** guaranteed memory share on each instance (the server's tenants file field) */
  memory: ShareAmount
})
export type TenantShare = typeof TenantShare.Type

const Tenants = Schema.Array(TenantShare).pipe(
  Schema.filter((ts) => {
    const seen = new Set<string>()
    for (const t of ts) {
      if (seen.has(t.id)) return `tenant "${t.id}" is listed twice`
      seen.add(t.id)
    }
    return true
  })
)

/**
 * More runs beside the scenario's own: every policy at each memory size per instance and each
 * instance count (all combinations, the scenario's own values included).
 */
export const Sweep = Schema.Struct({
  /** memory per instance */
  memory: Schema.optionalWith(Schema.Array(PositiveBytes).pipe(Schema.minItems(1)), { exact: true }),
  /** instance counts (full mode) */
  instances: Schema.optionalWith(Schema.Array(Count).pipe(Schema.minItems(1)), { exact: true })
}).pipe(Schema.filter((s) => s.memory !== undefined || s.instances !== undefined || "give memory: [...] and/or instances: [...]"))
export type Sweep = typeof Sweep.Type

const Price = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())

/**
 * What a configuration costs, for `meshkit plan`: per hour, instances × (perInstanceHour +
 * memory GiB × perGiBHour). Without it the planner ranks configurations by total memory.
 */
export const Cost = Schema.Struct({
  /** price of one GiB of instance memory for one hour */
  perGiBHour: opt(Price, () => 0),
  /** price of one instance for one hour (the machine, its CPUs), on top of its memory */
  perInstanceHour: opt(Price, () => 0),
  /** how prices are written in reports: "$", "EUR" ... */
  currency: opt(Schema.String.pipe(Schema.maxLength(8)), () => "$")
}).pipe(Schema.filter((c) => c.perGiBHour > 0 || c.perInstanceHour > 0 || "give perGiBHour and/or perInstanceHour above 0"))
export type Cost = typeof Cost.Type

/**
 * `trace:` names exactly one source. A struct with three optional members (rather than a union)
 * so that an error inside, say, `azure` is reported at `trace.azure.<field>` only.
 */
export const TraceSpec = Schema.Struct({
  csv: Schema.optionalWith(CsvTraceOptions, { exact: true }),
  azure: Schema.optionalWith(AzureTraceOptions, { exact: true }),
  generate: Schema.optionalWith(GeneratorOptions, { exact: true }),
  /** generated parts merged by time (each with its own modelPrefix) */
  mix: Schema.optionalWith(MixOptions, { exact: true }),
  /** libCacheSim's binary format, plain or .zst */
  oracleGeneral: Schema.optionalWith(OracleGeneralOptions, { exact: true })
}).pipe(
  Schema.filter((t) => {
    const n = [t.csv, t.azure, t.generate, t.mix, t.oracleGeneral].filter((x) => x !== undefined).length
    return n === 1 || `give exactly one trace source: csv, azure, generate, mix or oracleGeneral (got ${n})`
  })
)

/**
 * CI thresholds for \`meshkit bench replay\` / \`bench compare\`: how far the new build may move
 * against the base one in the same run. Latencies and cold starts as "+10%" (relative), the hit
 * ratio as "-1pt" (percentage points), errors as the most failed requests the new side may have.
 */
const RelativeLimit = Schema.String.pipe(Schema.pattern(/^\+?\d+(\.\d+)?%$/, { message: () => 'expected a relative limit like "+10%"' }))
export const Regression = Schema.Struct({
  p50: Schema.optionalWith(RelativeLimit, { exact: true }),
  p99: Schema.optionalWith(RelativeLimit, { exact: true }),
  p999: Schema.optionalWith(RelativeLimit, { exact: true }),
  coldStarts: Schema.optionalWith(RelativeLimit, { exact: true }),
  hitRatio: Schema.optionalWith(Schema.String.pipe(Schema.pattern(/^-?\d+(\.\d+)?pt$/, { message: () => 'expected a drop in percentage points like "-1pt"' })), { exact: true }),
  errors: Schema.optionalWith(Schema.Int.pipe(Schema.greaterThanOrEqualTo(0)), { exact: true })
})
export type Regression = typeof Regression.Type

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
  /**
   * Fair memory shares (core's ModelCache rule): a tenant within its share is never evicted for
   * a tenant over its share. Empty (the default, or `--set tenants=[]`): no shares.
   */
  tenants: opt(Tenants, () => []),
  sweep: Schema.optionalWith(Sweep, { exact: true }),
  /** prices for `meshkit plan` (cheapest configuration that meets the SLO); default: total memory */
  cost: Schema.optionalWith(Cost, { exact: true }),
  regression: Schema.optionalWith(Regression, { exact: true })
})
export type Scenario = typeof Scenario.Type
