import { Schema } from "effect"
import { Warmup } from "./warmup-schema.js"

export const Labels = Schema.Record({ key: Schema.String, value: Schema.String })

/** A model's own dynamic batching settings, as stored. */
export const BatchingSettings = Schema.Struct({
  maxBatchSize: Schema.optional(Schema.Number),
  maxBatchDelayMs: Schema.optional(Schema.Number),
  preferredBatchSizes: Schema.optional(Schema.Array(Schema.Number))
})
export type BatchingSettings = typeof BatchingSettings.Type

/** A model record as stored (registry.json, and the base of the cluster's record). */
export const ModelRecordSchema = Schema.Struct({
  id: Schema.String,
  format: Schema.String,
  uri: Schema.String,
  path: Schema.String,
  source: Schema.Literal("dir", "api"),
  tenant: Schema.String,
  labels: Labels,
  pinned: Schema.Boolean,
  minCopies: Schema.Number,
  maxCopies: Schema.Number,
  sha256: Schema.optional(Schema.String),
  sizeBytes: Schema.optional(Schema.Number),
  batching: Schema.optional(BatchingSettings),
  warmup: Schema.optional(Warmup),
  registeredAt: Schema.Number
})

