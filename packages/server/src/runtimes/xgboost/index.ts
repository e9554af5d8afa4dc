/** The XGBoost runtime: model files (JSON / UBJSON) → flattened forest → batch prediction. */
export { INPUT_NAME, loadForest, makeXgboostRuntime, MODEL_OVERHEAD_BYTES, OUTPUT_NAME, tensorsOf, XGBOOST_FORMAT } from "./runtime.js"
export { type Forest, ModelFormatError, parseModelFile } from "./model.js"
export { forestBytes, outputShape, predict, predictMargins } from "./predict.js"
export { OBJECTIVES, type Objective } from "./objectives.js"
export { decodeUbjson, UbjsonError, type UbjValue } from "./ubjson.js"
