import { Layer } from "effect"
import type { ServerConfig } from "./config.js"
import type { Log } from "./log.js"
import { Runtime } from "./runtime-service.js"

// TEMPORARY until E1's runtime/onnx.ts lands.
export const runtimeLayer = (_config: ServerConfig, _log: Log) => Layer.die(new Error("runtime not available yet")) as Layer.Layer<Runtime>
