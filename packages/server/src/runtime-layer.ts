import type { ServerConfig } from "./config.js"
import { OnnxRuntimeLive } from "./runtime/onnx.js"

/** The runtime the server loads models with: onnxruntime-node, configured from `runtime:`. */
export const runtimeLayer = (config: ServerConfig) => OnnxRuntimeLive(config.runtime)
