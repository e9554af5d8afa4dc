export * from "./runtime.js"
export * from "./service.js"
export * from "./onnx.js"
export { inputProblem } from "./validate.js"
