import { Data } from "effect"
import { type ErrorKind, KindId } from "../errors.js"
import type { Tensor, TensorMeta } from "../tensor.js"

export * from "../tensor.js"

/**
 * The model runtime SPI, shaped like ModelMesh's `mmesh.ModelRuntime` (predictModelSize,
 * loadModel → size, unloadModel) but in process: the server calls a runtime directly instead of
 * over a sidecar gRPC hop.
 */

export interface LoadedModel {
  /** Bytes this model holds in memory, measured after load (see the runtime for how). */
  readonly sizeBytes: number
  readonly inputs: ReadonlyArray<TensorMeta>
  readonly outputs: ReadonlyArray<TensorMeta>
  /**
   * Run the model. `outputNames` restricts (and orders) the outputs; default all.
   * Rejects with RuntimeError: kind "input" for caller mistakes, "infer" for runtime faults.
   */
  infer(inputs: ReadonlyArray<Tensor>, outputNames?: ReadonlyArray<string>): Promise<Tensor[]>
  /**
   * Requests this model takes at once, when the runtime says (a remote runtime's loadModel
   * maxConcurrency); the manager admits at most this many and queues the rest.
   */
  readonly maxConcurrency?: number
  /** Release the model's memory. Idempotent. */
  unload(): Promise<void>
}

export interface ModelRuntime {
  readonly name: string
  /** Model formats this runtime loads, e.g. ["onnx"]: `runtimeFor(format)` picks the runtime by them. */
  readonly formats: ReadonlyArray<string>
  /** KServe v2 `platform` reported in model metadata, e.g. "onnxruntime_onnx". */
  readonly platform: string
  /** Bytes the model is expected to take once loaded, computed before loading it. */
  predictSize(path: string, target?: LoadTarget): Promise<number>
  /** Load a model file. Rejects with RuntimeError kind "load". */
  load(path: string, modelId: string, target?: LoadTarget): Promise<LoadedModel>
  /** Unload every model still loaded and stop helpers (shutdown). */
  close?(): Promise<void>
  /**
   * A runtime with memory of its own (a remote process): the models it loads are admitted
   * under this budget, in a cache of their own, instead of the server's --memory.
   */
  readonly capacityBytes?: number
  /** Whether the runtime can load and serve now (a remote runtime: false while unreachable). */
  health?(): RuntimeHealth
  /** Told when health changes; not ready = every model it held is gone (it died or restarted). */
  onHealthChange?(listener: (h: RuntimeHealth) => void): void
}

/** Which model a load is for (remote runtimes pass these on: modelId, modelType, modelKey). */
export interface LoadTarget {
  readonly id: string
  readonly format: string
  /** ModelMesh's modelKey: the record's `modelKey` label, else empty */
  readonly key: string
}

export type RuntimeHealth = { readonly ready: true } | { readonly ready: false; readonly reason: string }

/**
 * kind "load": the model could not be loaded (bad file, unsupported op): unavailable (503).
 * kind "input": the request does not match the model: invalid (400).
 * kind "infer": the runtime failed while running a valid request: internal (500).
 */
export class RuntimeError extends Data.TaggedError("RuntimeError")<{
  readonly kind: "load" | "infer" | "input"
  readonly message: string
}> {
  get [KindId](): ErrorKind {
    return this.kind === "input" ? "invalid" : this.kind === "load" ? "unavailable" : "internal"
  }
}

