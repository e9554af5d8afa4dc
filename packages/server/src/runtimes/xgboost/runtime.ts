import { readFile, stat } from "node:fs/promises"
import type { LoadedModel, ModelRuntime, Tensor, TensorMeta } from "../runtime.js"
import { RuntimeError } from "../runtime.js"
import { inputProblem } from "../validate.js"
import { type Forest, ModelFormatError, parseModelFile } from "./model.js"
import { forestBytes, outputShape, predict } from "./predict.js"

/**
 * ModelRuntime for XGBoost's own model files (JSON or UBJSON, told apart by content), evaluated
 * in process on flattened typed arrays (./predict.ts). Tensors follow Triton's FIL backend:
 * input `input__0` FP32 [-1, num_feature] (NaN = missing), output `output__0` FP32 shaped like
 * `Booster.predict` ([-1], or [-1, num_class] for multi:softprob).
 *
 * Size. After load: the forest's typed arrays plus MODEL_OVERHEAD_BYTES (the model's JS
 * objects and tensor metadata). Before load it is predicted from the file size: per node the
 * forest holds 17 bytes, a UBJSON file ≥ 34 (ten fields, most 4 bytes) and a JSON file ≥ 46
 * (the same fields as text), so 0.6 × a UBJSON file and 0.4 × a JSON file (by name) never
 * under-count (measured: forest / file ≈ 0.34 for JSON, ≈ 0.45 for UBJSON).
 */
export const INPUT_NAME = "input__0"
export const OUTPUT_NAME = "output__0"
export const MODEL_OVERHEAD_BYTES = 4096
const JSON_FACTOR = 0.4
const UBJ_FACTOR = 0.6

export const XGBOOST_FORMAT = "xgboost"

/** Parse + flatten a model file's bytes; a bad file is a RuntimeError kind "load" naming the file. */
export const loadForest = (bytes: Uint8Array, path: string, modelId: string): Forest => {
  try {
    return parseModelFile(bytes)
  } catch (e) {
    if (e instanceof ModelFormatError) throw new RuntimeError({ kind: "load", message: `model ${modelId}: ${path} is not a usable XGBoost model: ${e.message}` })
    throw e
  }
}

export const tensorsOf = (f: Forest): { inputs: TensorMeta[]; outputs: TensorMeta[] } => ({
  inputs: [{ name: INPUT_NAME, datatype: "FP32", shape: [-1, f.numFeature] }],
  outputs: [{ name: OUTPUT_NAME, datatype: "FP32", shape: outputShape(f, -1) }]
})

/** The loaded model over a forest: validates the request, predicts synchronously. */
export const forestModel = (modelId: string, forest: Forest): LoadedModel => {
  let f: Forest | undefined = forest
  const { inputs, outputs } = tensorsOf(forest)
  const run = (given: ReadonlyArray<Tensor>, outputNames?: ReadonlyArray<string>): Tensor[] => {
    if (!f) throw new RuntimeError({ kind: "infer", message: `model ${modelId} is unloaded` })
    const problem = inputProblem(inputs, given)
    if (problem) throw new RuntimeError({ kind: "input", message: problem })
    for (const n of outputNames ?? []) {
      if (n !== OUTPUT_NAME) throw new RuntimeError({ kind: "input", message: `unknown output "${n}" (the model's outputs: ${OUTPUT_NAME})` })
    }
    const x = given[0]!
    const rows = x.shape[0]!
    return [{ name: OUTPUT_NAME, datatype: "FP32", shape: outputShape(f, rows), data: predict(f, x.data as Float32Array, rows) }]
  }
  return {
    sizeBytes: forestBytes(forest) + MODEL_OVERHEAD_BYTES,
    inputs,
    outputs,
    infer: (given, outputNames) => {
      try {
        return Promise.resolve(run(given, outputNames))
      } catch (e) {
        return Promise.reject(e)
      }
    },
    unload: () => {
      f = undefined
      return Promise.resolve()
    }
  }
}

const readModel = async (path: string, modelId: string): Promise<Uint8Array> => {
  try {
    return await readFile(path)
  } catch (e) {
    throw new RuntimeError({ kind: "load", message: `model ${modelId}: cannot read ${path}: ${e instanceof Error ? e.message : String(e)}` })
  }
}

export const makeXgboostRuntime = (): ModelRuntime => ({
  name: "xgboost",
  formats: [XGBOOST_FORMAT],
  platform: "xgboost",
  predictSize: async (path) => {
    let size: number
    try {
      size = (await stat(path)).size
    } catch (e) {
      throw new RuntimeError({ kind: "load", message: `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}` })
    }
    return Math.round(size * (path.endsWith(".json") ? JSON_FACTOR : UBJ_FACTOR)) + MODEL_OVERHEAD_BYTES
  },
  load: async (path, modelId) => forestModel(modelId, loadForest(await readModel(path, modelId), path, modelId))
})
