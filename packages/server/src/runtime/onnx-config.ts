import { Schema } from "effect"

export const GraphOptimizationLevel = Schema.Literal("disabled", "basic", "extended", "all")

export const OnnxRuntimeConfig = Schema.Struct({
  /** Preference order, e.g. ["cuda"] or ["tensorrt", "cuda"]; "cpu" is always appended as last resort. */
  executionProviders: Schema.optionalWith(Schema.Array(Schema.String), { default: () => ["cpu"] }),
  /** Threads of one inference; unset = onnxruntime's default (one per physical core). */
  intraOpNumThreads: Schema.optional(Schema.Int.pipe(Schema.positive())),
  interOpNumThreads: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** Idle ORT threads spin for work by default; with many sessions per host that burns CPU. */
  allowSpinning: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  graphOptimizationLevel: Schema.optionalWith(GraphOptimizationLevel, { default: () => "all" as const }),
  /** predictSize = file size × sizeFactor + session overhead (default factor: see onnx.ts). */
  sizeFactor: Schema.optional(Schema.Number.pipe(Schema.greaterThan(0))),
  /** Measure the size after load from RSS (true) or always use the prediction (false). */
  measureSize: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  /**
   * 0 (default): sessions live on the JS thread, where onnxruntime-node's session creation and
   * run block the event loop for their whole duration. N ≥ 1: sessions live in N worker
   * threads, so a load or a long inference does not stall other requests (costs one message
   * round trip and one copy of the inputs per inference).
   */
  workers: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 0 })
})
export type OnnxRuntimeConfig = typeof OnnxRuntimeConfig.Type
export type OnnxRuntimeConfigInput = typeof OnnxRuntimeConfig.Encoded

/** Fixed memory of an ORT session beyond its weights (measured, rounded down: see onnx.ts). */
export const SESSION_OVERHEAD_BYTES = 256 * 1024

/** 1.25 (ModelMesh's factor) when glibc returns large frees to the OS, else 2 (see onnx.ts). */
export const defaultSizeFactor = (env: NodeJS.ProcessEnv = process.env): number => (env.MALLOC_MMAP_THRESHOLD_ ? 1.25 : 2)
