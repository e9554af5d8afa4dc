/** @meshkit/server: the inference server process and its building blocks. */
export * from "./config/config.js"
export { ConfigReload, ConfigReloader, configReloadLayer, reloadOnSighup, type ConfigField, type ReloadReport } from "./config/reload.js"
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
export { GRPC_PROTO_PATH, HEALTH_PROTO_PATH, loadHealthDefinition, INFERENCE_SERVICE_NAME, HEALTH_SERVICE_NAME } from "./transport/kserve-v2/grpc-definition.js"
export { Warmup } from "./registry/warmup-schema.js"

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
// cluster mode (--etcd): coordination through etcd; see src/cluster/README.md
export { KvStore, casRetry, type KvStoreApi, type KvEntry, type Snapshot, type Guard, type TxnOp, type WatchHandler, type Lease } from "./cluster/kv-store.js"
export { etcdStoreLayer, DEFAULT_ETCD_TIMEOUT_MS, type EtcdConfig } from "./cluster/etcd-store.js"
export { EtcdUnavailable, WriteContention, LeaseExpired } from "./cluster/errors.js"
export { ClusterConfig, clusterConfigLayer, clusterSettings, type ClusterSettings } from "./cluster/config.js"
export { clusterKeys, DEFAULT_CLUSTER_PREFIX, type ClusterKeys } from "./cluster/keys.js"
export { ClusterRegistry, type Registered } from "./cluster/cluster-registry.js"
export { Membership, LocalInstance, significantChange, type LocalInstanceApi } from "./cluster/membership.js"
export { Leader, campaignForLeadership, pruneGoneCopies, type LeadershipState } from "./cluster/leader.js"
export { LocalTable } from "./cluster/local-table.js"
export type { ClusterModelRecord, ClusterVModelRecord, InstanceRecord, InstanceStatus } from "./cluster/records.js"
export { startEtcd, findEtcd, freePort, EtcdNotFound, type EtcdProcess, type EtcdOptions } from "./cluster/etcd-process.js"
export { startLocalCluster, waitReady, waitExit, type LocalCluster, type LocalClusterOptions, type LocalInstance as LocalClusterInstance } from "./cluster/local-cluster.js"
// used by @meshkit/bench's codec and runtime micro-benchmarks
export { decodeInferRequest, encodeInferResponse, tensorBytes } from "./transport/kserve-v2/index.js"
export { ClusterNode, ClusterNodeLive, clusterBaseLayer, instanceIdOf, type ClusterNodeApi, type ClusterInstanceInfo, type CopyInfo } from "./cluster/node.js"
export { forwardContextOf, PeerForwarder, FORWARD_HEADERS, MAX_HOPS, type ForwardContext, type ForwardMode, type ForwardResult } from "./cluster/forwarder.js"
// tenancy: tenants file, principals, TLS material
export { Tenants, Principal, TenantLimiter, OPEN, TENANT_HEADER, sha256Hex } from "./tenancy/tenants.js"
export { decodeTenantsFile, readTenantsFile, resolveShares, TenantsFileError, ADMIN_TENANT, type TenantsFile, type TenantSpec, type MemoryShare } from "./tenancy/tenants-file.js"
export { TenantsLive, checkSecurity, isLoopbackHost } from "./tenancy/live.js"
export { Tls, TlsLive, readTls, TlsConfigError, type TlsMaterial } from "./tenancy/tls.js"
export { Unauthenticated, Forbidden, TenantLimited } from "./tenancy/errors.js"
// the XGBoost runtime (runtimes/xgboost): parse + flatten + predict, for the trees bench and tests
export * as xgboost from "./runtimes/xgboost/index.js"
// remote runtimes over ModelMesh's runtime SPI (--remote-runtime)
export { RemoteRuntimeSpec } from "./runtimes/remote/options.js"
export { makeRemoteRuntime, RemoteRuntime } from "./runtimes/remote/runtime.js"
