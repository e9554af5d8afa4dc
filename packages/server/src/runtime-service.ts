import { Context } from "effect"
import type { ModelRuntime } from "./runtime/runtime.js"

/** The model runtime the server loads models with (E1's ONNX runtime in production). */
export class Runtime extends Context.Tag("meshkit/server/Runtime")<Runtime, ModelRuntime>() {}
