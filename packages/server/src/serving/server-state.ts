import { ServiceTag } from "../service-tag.js"

/** Process-wide serving state shared by the HTTP and gRPC front ends; its own service tag. */
export class ServerState extends ServiceTag("meshkit/server/State")<ServerState>() {
  /** both listeners are up and the registry is loaded */
  ready = false
  /** shutdown started: refuse new requests, finish the ones in flight */
  draining = false
  readonly startedAt = Date.now()
  /**
   * Run on shutdown before requests are refused (cluster mode hands its models over to other
   * instances here, while this one keeps serving them).
   */
  readonly beforeDrain: Array<() => Promise<void>> = []
  /** cluster mode: set once this instance has joined (the HTTP transport forwards through it) */
  cluster: import("../cluster/node.js").ClusterNodeApi | undefined = undefined

  /** Conditions readiness also needs (a remote runtime reachable); each says why not, or ready. */
  readonly readinessChecks: Array<() => { readonly ready: boolean }> = []

  /** Ready to take requests: both listeners up, shutdown not started, every readiness check passing (both transports ask this). */
  get serving(): boolean {
    return this.ready && !this.draining && this.readinessChecks.every((c) => c().ready)
  }
}

export const SERVER_NAME = "meshkit"
export const SERVER_VERSION = "0.1.0"
/** KServe v2 / Triton extensions the server implements (model_configuration and statistics: Triton's). */
export const EXTENSIONS = ["binary_tensor_data", "model_repository", "health", "metadata", "model_configuration", "statistics"]
export const MODEL_VERSION = "1"
