/**
 * The JSON records kept in etcd, with the Schemas that decode them when they come back through
 * a watch (another instance, or another version, may have written them).
 */
import { Either, Schema } from "effect"
import type { ModelRecord } from "../registry/registry.js"
import { ModelRecordSchema } from "../registry/record-schema.js"

const Labels = Schema.Record({ key: Schema.String, value: Schema.String })

/** A failed load on one instance (ModelMesh failedIn + its message). */
const LoadFailure = Schema.Struct({ atMs: Schema.Number, message: Schema.String })

/**
 * A registered model, shared by the cluster: the file registry's record (../registry) plus
 * the copy map. `path` is where the registering instance found the file; instances resolve
 * `uri` themselves when their local path differs (URL sources download per instance).
 */
export const ClusterModelRecord = Schema.Struct({
  ...ModelRecordSchema.fields,
  /** the copy map: instance → load start (ms). An instance adds itself BEFORE its load starts. */
  instanceIds: Schema.Record({ key: Schema.String, value: Schema.Number }),
  /** instances where the last load failed, and why */
  failedIn: Schema.Record({ key: Schema.String, value: LoadFailure }),
  /** vmodels that point at this model (as active or target); deletion is refused while > 0 */
  refs: Schema.Number
})
export type ClusterModelRecord = typeof ClusterModelRecord.Type

// The shared record must carry everything the file registry's record does.
const _sameShape = (r: ClusterModelRecord): ModelRecord => r
void _sameShape

/** Fields that define a model: two registrations agreeing on these are the same model. */
export const identityOf = (m: ModelRecord) =>
  JSON.stringify([m.uri, m.format, m.tenant, sortedLabels(m.labels), m.pinned, m.minCopies, m.maxCopies, m.sha256 ?? null, m.sizeBytes ?? null, m.batching ?? null])

const sortedLabels = (l: Readonly<Record<string, string>>) => Object.keys(l).sort().map((k) => [k, l[k]])

/** A vmodel alias: routes to `active`, moves to `target` once it is loaded somewhere. */
export const ClusterVModelRecord = Schema.Struct({
  id: Schema.String,
  active: Schema.String,
  target: Schema.String,
  /** set when loading `target` failed; cleared by a new target */
  targetFailed: Schema.optional(Schema.String)
})
export type ClusterVModelRecord = typeof ClusterVModelRecord.Type

/** The models a vmodel holds a reference on. */
export const referencedBy = (v: ClusterVModelRecord | undefined): ReadonlySet<string> =>
  v === undefined ? new Set() : new Set([v.active, v.target])

/** One instance, as the others see it (lease-bound: it vanishes with the instance). */
export const InstanceRecord = Schema.Struct({
  id: Schema.String,
  /** where the others forward requests to this instance */
  httpUrl: Schema.String,
  grpcAddress: Schema.optional(Schema.String),
  capacityBytes: Schema.Number,
  usedBytes: Schema.Number,
  /** models loaded and serving here */
  models: Schema.Array(Schema.String),
  /** models loading here now (their count is the "loading count") */
  loadingModels: Schema.Array(Schema.String),
  loadSlots: Schema.Number,
  inFlight: Schema.Number,
  rpm: Schema.Number,
  /** the oldest last-use time in its cache (ms); +Infinity is not JSON, so empty cache = 0 */
  lruTime: Schema.Number,
  labels: Labels,
  shuttingDown: Schema.Boolean,
  version: Schema.String,
  startedAt: Schema.Number,
  publishedAt: Schema.Number,
  /** this instance holds the leadership (runs the cluster-wide chores) */
  leader: Schema.optional(Schema.Boolean)
})
export type InstanceRecord = typeof InstanceRecord.Type

/** What an instance reports about itself; membership adds id, start and publish times. */
export type InstanceStatus = Omit<InstanceRecord, "id" | "startedAt" | "publishedAt">

/** JSON text → record, or undefined when it is not one (a foreign or newer writer). */
export const decoderFor = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(schema)
  return (text: string): A | undefined => {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return undefined
    }
    const r = decode(json)
    return Either.isRight(r) ? r.right : undefined
  }
}
