import * as grpc from "@grpc/grpc-js"
import { grpcChannelOptions, loadGrpcDefinition } from "../../transport/kserve-v2/index.js"
import { modelRuntimeClient } from "./mmesh-definition.js"

/**
 * One connection to a runtime process: the `mmesh.ModelRuntime` client and the KServe v2
 * `inference.GRPCInferenceService` client share its channel, so "the runtime is reachable" is
 * one state. Reconnects are retried quickly (100 ms, up to 1 s apart) instead of grpc-js's
 * default backoff of up to 2 minutes: a runtime restarted next to this server should serve
 * again within about a health interval.
 */
export interface RuntimeChannel {
  readonly runtime: grpc.Client & Record<string, Function>
  readonly inference: grpc.Client & Record<string, Function>
  state(): grpc.connectivityState
  /** calls `f` on every connectivity change until the channel closes */
  watch(f: (from: grpc.connectivityState, to: grpc.connectivityState) => void): void
  close(): void
}

export const openChannel = (address: string): RuntimeChannel => {
  const options: grpc.ChannelOptions = {
    ...grpcChannelOptions,
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 1000,
    "grpc.min_reconnect_backoff_ms": 100
  }
  const Runtime = modelRuntimeClient()
  const runtime = new Runtime(address, grpc.credentials.createInsecure(), options) as grpc.Client & Record<string, Function>
  const Inference = loadGrpcDefinition().GRPCInferenceService
  const inference = new Inference(address, grpc.credentials.createInsecure(), { ...options, channelOverride: runtime.getChannel() }) as grpc.Client &
    Record<string, Function>
  let closed = false
  const channel = runtime.getChannel()
  return {
    runtime,
    inference,
    state: () => channel.getConnectivityState(false),
    watch(f) {
      const loop = (from: grpc.connectivityState) => {
        if (closed) return
        channel.watchConnectivityState(from, Infinity, () => {
          if (closed) return
          const to = channel.getConnectivityState(false)
          f(from, to)
          loop(to)
        })
      }
      loop(channel.getConnectivityState(true))
    },
    close() {
      closed = true
      inference.close()
      runtime.close()
    }
  }
}

/** A unary call as a promise; `deadlineMs` 0 = none. */
export const unary = <Res>(client: grpc.Client & Record<string, Function>, method: string, request: unknown, deadlineMs: number, metadata?: grpc.Metadata): Promise<Res> =>
  new Promise((resolve, reject) => {
    const opts: grpc.CallOptions = deadlineMs > 0 ? { deadline: Date.now() + deadlineMs } : {}
    client[method]!(request, metadata ?? new grpc.Metadata(), opts, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)))
  })

export const isServiceError = (e: unknown): e is grpc.ServiceError => e instanceof Error && "code" in e && typeof e.code === "number"

/** The call failed because the runtime cannot be reached (not because of the request). */
export const isUnreachable = (e: unknown): boolean => isServiceError(e) && e.code === grpc.status.UNAVAILABLE

export const grpcText = (e: unknown): string =>
  isServiceError(e) ? `${grpc.status[e.code] ?? e.code}${e.details ? `: ${e.details}` : ""}` : e instanceof Error ? e.message : String(e)
