import { Schema } from "effect"

/**
 * Model warm-up (Triton's `model_warmup`): sample requests run after a load and before the
 * model is READY, so the first real request does not pay for the runtime's first-run setup
 * (onnxruntime allocates its arenas and picks kernels on the first run). Two forms, in the
 * `<name>.json` metadata file or the registration body:
 *
 *   "warmup": { "batchSize": 4, "count": 2, "fill": "random" }     inputs made from the model's own metadata
 *   "warmup": [ { "inputs": { "input": { "shape": [1, 64], "datatype": "FP32", "zero": true } }, "count": 3 } ]
 *
 * An explicit input gives exactly one of `data` (row-major values), `random: true` or
 * `zero: true`. A warm-up that fails fails the load, with the reason (instance/warmup.ts).
 */
const Count = Schema.Int.pipe(Schema.between(1, 1000))

export const WarmupInput = Schema.Struct({
  shape: Schema.Array(Schema.Int.pipe(Schema.nonNegative())),
  datatype: Schema.String,
  data: Schema.optional(Schema.Array(Schema.Union(Schema.Number, Schema.String, Schema.Boolean))),
  random: Schema.optional(Schema.Boolean),
  zero: Schema.optional(Schema.Boolean)
})
export type WarmupInput = typeof WarmupInput.Type

export const WarmupSample = Schema.Struct({
  inputs: Schema.Record({ key: Schema.String, value: WarmupInput }),
  count: Schema.optional(Count)
})

export const WarmupFromMetadata = Schema.Struct({
  /** the size given to every variable dimension (default 1) */
  batchSize: Schema.optional(Schema.Int.pipe(Schema.between(1, 65536))),
  count: Schema.optional(Count),
  fill: Schema.optional(Schema.Literal("zero", "random"))
})

export const Warmup = Schema.Union(WarmupFromMetadata, Schema.Array(WarmupSample))
export type Warmup = typeof Warmup.Type
