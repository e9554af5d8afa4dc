import { Schema } from "effect"
import { BooleanFrom, IntFrom, NumberFrom, StringList } from "../../config/text-schemas.js"

/**
 * The ONNX runtime's options: one Schema, used as given (text from env and flags accepted) by
 * the server configuration's `runtime:` section and decoded with its defaults by the runtime.
 */
export const OnnxOptions = Schema.Struct({
  /** Preference order, e.g. ["cuda"] or ["tensorrt", "cuda"]; probed at start, "cpu" is always the last resort. */
  executionProviders: Schema.optional(StringList),
  /** Threads of one inference; unset = onnxruntime's default (one pool per session). */
  intraOpNumThreads: Schema.optional(IntFrom(1, 1024)),
  interOpNumThreads: Schema.optional(IntFrom(1, 1024)),
  /** Idle ORT threads spin for work when true (faster wake-up; with many sessions per host that burns CPU). Default off. */
  allowSpinning: Schema.optional(BooleanFrom),
  graphOptimizationLevel: Schema.optional(Schema.Literal("disabled", "basic", "extended", "all")),
  /** predictSize = file size × sizeFactor + session overhead (default factor: see runtime.ts). */
  sizeFactor: Schema.optional(NumberFrom(0.01)),
  /** Correct the prediction with the RSS growth measured during load (default true). */
  measureSize: Schema.optional(BooleanFrom),
  /**
   * 0 (default): sessions live on the JS thread, where onnxruntime-node's session creation and
   * run block the event loop for their whole duration. N ≥ 1: sessions live in N worker
   * threads, so a load or a long inference does not stall other requests (costs one message
   * round trip and one copy of the inputs per inference).
   */
  workers: Schema.optional(IntFrom(0, 64))
})
export type OnnxOptions = typeof OnnxOptions.Type
export type OnnxOptionsInput = typeof OnnxOptions.Encoded

/** The options with every default filled in: what sessions and workers are set up with. */
export interface OnnxRuntimeConfig {
  readonly executionProviders: ReadonlyArray<string>
  readonly intraOpNumThreads?: number
  readonly interOpNumThreads?: number
  readonly allowSpinning: boolean
  readonly graphOptimizationLevel: "disabled" | "basic" | "extended" | "all"
  readonly sizeFactor?: number
  readonly measureSize: boolean
  readonly workers: number
}

/** Decode (throws a ParseError naming the field) and apply the defaults. */
export const resolveOnnxOptions = (input: OnnxOptionsInput = {}): OnnxRuntimeConfig => {
  const o = Schema.decodeUnknownSync(OnnxOptions, { onExcessProperty: "error" })(input)
  return {
    ...o,
    executionProviders: o.executionProviders ?? ["cpu"],
    allowSpinning: o.allowSpinning ?? false,
    graphOptimizationLevel: o.graphOptimizationLevel ?? "all",
    measureSize: o.measureSize ?? true,
    workers: o.workers ?? 0
  }
}

/** Fixed memory of an ORT session beyond its weights (measured, rounded down: see runtime.ts). */
export const SESSION_OVERHEAD_BYTES = 256 * 1024

/** 1.25 (ModelMesh's factor) when glibc returns large frees to the OS, else 2 (see runtime.ts). */
export const defaultSizeFactor = (env: NodeJS.ProcessEnv = process.env): number => (env.MALLOC_MMAP_THRESHOLD_ ? 1.25 : 2)
