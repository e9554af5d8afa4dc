import type { OnnxRuntimeConfig } from "./options.js"
import type { RuntimeError, Tensor, TensorMeta } from "../runtime.js"

/** Messages between the main thread and an onnx runtime worker (structured clone). */
export type ToWorker =
  | { readonly op: "init"; readonly rid: number; readonly config: OnnxRuntimeConfig; readonly providers: ReadonlyArray<string> }
  | { readonly op: "load"; readonly rid: number; readonly key: number; readonly path: string; readonly modelId: string }
  | { readonly op: "infer"; readonly rid: number; readonly key: number; readonly inputs: ReadonlyArray<Tensor>; readonly outputNames?: ReadonlyArray<string> }
  | { readonly op: "unload"; readonly rid: number; readonly key: number }

export interface LoadReply {
  readonly inputs: ReadonlyArray<TensorMeta>
  readonly outputs: ReadonlyArray<TensorMeta>
}

export type FromWorker =
  | { readonly rid: number; readonly ok: true; readonly value?: LoadReply | Tensor[] }
  | { readonly rid: number; readonly ok: false; readonly kind: RuntimeError["kind"]; readonly message: string }
