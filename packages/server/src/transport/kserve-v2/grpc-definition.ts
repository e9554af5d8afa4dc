import * as grpc from "@grpc/grpc-js"
import * as protoLoader from "@grpc/proto-loader"
import { fileURLToPath } from "node:url"

/** packages/server/proto/grpc_predict_v2.proto (ships with the package; no network, no ../shared). */
export const GRPC_PROTO_PATH = fileURLToPath(new URL("../../../proto/grpc_predict_v2.proto", import.meta.url))
/** packages/server/proto/health.proto: grpc.health.v1 (Kubernetes gRPC probes, grpc_health_probe). */
export const HEALTH_PROTO_PATH = fileURLToPath(new URL("../../../proto/health.proto", import.meta.url))

/**
 * proto-loader options the codec expects. Longs as strings, not numbers: INT64 / UINT64
 * contents must stay exact (the codec turns them into BigInt; shapes into numbers). Writing
 * responses accepts plain numbers for int64 fields too.
 */
export const GRPC_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  arrays: true,
  oneofs: true
}

/** Large tensors: raise gRPC's 4 MiB default message limits (both directions). */
export const GRPC_MAX_MESSAGE_BYTES = 512 * 1024 * 1024
export const grpcChannelOptions: grpc.ChannelOptions = {
  "grpc.max_receive_message_length": GRPC_MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": GRPC_MAX_MESSAGE_BYTES
}

export interface GrpcDefinition {
  readonly packageDefinition: protoLoader.PackageDefinition
  /** `server.addService(GRPCInferenceService.service, impl)`; `new GRPCInferenceService(addr, creds, grpcChannelOptions)` for a client. */
  readonly GRPCInferenceService: grpc.ServiceClientConstructor
}

let cached: GrpcDefinition | undefined
let cachedHealth: HealthDefinition | undefined

/** Load `inference.GRPCInferenceService` (synchronously, once per process). */
export const loadGrpcDefinition = (): GrpcDefinition => {
  if (cached) return cached
  const packageDefinition = protoLoader.loadSync(GRPC_PROTO_PATH, GRPC_LOADER_OPTIONS)
  const pkg = grpc.loadPackageDefinition(packageDefinition) as unknown as {
    inference: { GRPCInferenceService: grpc.ServiceClientConstructor }
  }
  cached = { packageDefinition, GRPCInferenceService: pkg.inference.GRPCInferenceService }
  return cached
}

export interface HealthDefinition {
  readonly packageDefinition: protoLoader.PackageDefinition
  /** grpc.health.v1.Health: `server.addService(Health.service, impl)`, or a client. */
  readonly Health: grpc.ServiceClientConstructor
}

/** Load `grpc.health.v1.Health` (synchronously, once per process). */
export const loadHealthDefinition = (): HealthDefinition => {
  if (cachedHealth) return cachedHealth
  const packageDefinition = protoLoader.loadSync(HEALTH_PROTO_PATH, GRPC_LOADER_OPTIONS)
  const pkg = grpc.loadPackageDefinition(packageDefinition) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } }
  }
  cachedHealth = { packageDefinition, Health: pkg.grpc.health.v1.Health }
  return cachedHealth
}

/** The service names the gRPC listener serves (health checks answer for these and ""). */
export const INFERENCE_SERVICE_NAME = "inference.GRPCInferenceService"
export const HEALTH_SERVICE_NAME = "grpc.health.v1.Health"
