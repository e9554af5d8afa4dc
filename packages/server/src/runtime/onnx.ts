/** Old path kept only for packages/server/bench/ (moving to its own package on another branch); delete with it. */
export { makeOnnxRuntime, type OnnxRuntime } from "../runtimes/onnx/runtime.js"
