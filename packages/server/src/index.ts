/** @meshkit/server: the inference server process and its building blocks. */
export * from "./config/config.js"
export { formatDuration, parseDuration } from "./config/duration.js"
export * from "./errors.js"
export * from "./tensor.js"
export * from "./main.js"
export * from "./observability/log.js"
export * from "./observability/metrics.js"
export { ModelManager, ModelEntry, type ManagerOptions, type ModelStatus, type ModelStatusInfo } from "./instance/model-manager.js"
export { ModelManagerLive } from "./instance/live.js"
export { LoadPool } from "./instance/load-pool.js"
export { FailureMemory, type Failure } from "./instance/failure-memory.js"
export { ModelRegistry, RegisterRequest, type ModelRecord, type RegistryStore, type VModelRecord } from "./registry/registry.js"
export { ModelRegistryLive, registerModelsDir } from "./registry/live.js"
export { ClusterModelRegistryLive, followSharedRegistry, SharedRegistryFollowerLive, SharedRegistryStore } from "./cluster/registry-bridge.js"
export { VModels, VModelsLive, type VModelStatus, type VModelState } from "./registry/vmodels.js"
export { Serving, ServingLive, type InferTransport, type ModelMetadata } from "./serving/infer.js"
export { RequestMetrics, STATUS_LABEL } from "./serving/request-metrics.js"
export { ServerState } from "./serving/server-state.js"
export * from "./runtimes/index.js"
export { makeOnnxRuntime, OnnxOptions, resolveOnnxOptions, SESSION_OVERHEAD_BYTES, type OnnxRuntime, type OnnxRuntimeConfig } from "./runtimes/onnx/runtime.js"
export { HTTP_STATUS } from "./transport/http/errors.js"
export { GRPC_STATUS } from "./transport/grpc/errors.js"
export * as kserveV2 from "./transport/kserve-v2/index.js"
export { grpcChannelOptions, loadGrpcDefinition } from "./transport/kserve-v2/grpc-definition.js"
/** Test and bench support: generated ONNX models (the bench package will own these). */
export { makeModel } from "./models/make.js"

// Names of the services before each had one name (kept for importers of the old names).
import { Log } from "./observability/log.js"
import { ServerMetrics } from "./observability/metrics.js"
import { ModelManager } from "./instance/model-manager.js"
import { ModelRegistry } from "./registry/registry.js"
import { VModels } from "./registry/vmodels.js"
/** @deprecated use ModelManager (the class is its own tag) */
export const Manager = ModelManager
/** @deprecated use ModelRegistry */
export const Registry = ModelRegistry
/** @deprecated use VModels */
export const VModelManager = VModels
/** @deprecated use ServerMetrics */
export const Metrics = ServerMetrics
/** @deprecated use Log */
export const ServerLog = Log
