/**
 * @meshkit/onnx-models: synthetic ONNX models for `meshkit models make`, tests, benchmarks and
 * the server's runtime warm-up. No dependency on the rest of meshkit: a model file is bytes.
 */
export {
  encodeMlp,
  makeModel,
  makeModels,
  mlpParameters,
  planMlp,
  tinyModel,
  type MadeModels,
  type MakeModelOptions,
  type MakeModelsOptions,
  type MlpShape
} from "./make.js"
export { encodeOnnxModel, rawDataRanges, ONNX_FLOAT, type OnnxDim, type OnnxGraph, type OnnxInitializer, type OnnxNode } from "./onnx-writer.js"
