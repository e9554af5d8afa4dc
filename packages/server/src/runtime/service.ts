import { Context } from "effect"
import type { ModelRuntime } from "./runtime.js"

/** The model runtime the server uses (one per process; ONNX today). */
export class ModelRuntimeService extends Context.Tag("meshkit/server/ModelRuntime")<ModelRuntimeService, ModelRuntime>() {}
