/**
 * grpc.health.v1.Health, the standard gRPC health protocol, so Kubernetes `grpc:` probes and
 * grpc_health_probe work without a sidecar. The server ("") and the inference service answer
 * SERVING once both listeners are up and NOT_SERVING once shutdown starts (the same question
 * /v2/health/ready answers); any other name is NOT_FOUND for Check and SERVICE_UNKNOWN for
 * Watch, as the protocol says.
 *
 * Watch streams are few (one per probing client) and the state changes twice in a process's
 * life, so one shared 250 ms poll while any Watch is open is simpler than events on
 * ServerState and costs nothing on the request path. On shutdown every Watch gets NOT_SERVING
 * and is ended before the gRPC listener drains, so the drain does not wait for them.
 */
import * as grpc from "@grpc/grpc-js"
import type { ServerState } from "../../serving/server-state.js"
import { HEALTH_SERVICE_NAME, INFERENCE_SERVICE_NAME } from "../kserve-v2/index.js"

type Status = "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN"

const KNOWN = new Set(["", INFERENCE_SERVICE_NAME, HEALTH_SERVICE_NAME])
const POLL_MS = 250

interface Watcher {
  readonly call: grpc.ServerWritableStream<{ service?: string }, { status: Status }>
  last: Status | undefined
}

export interface HealthService {
  readonly impl: grpc.UntypedServiceImplementation
  /** Tell every open Watch NOT_SERVING and end it (called before the listener drains). */
  close(): void
}

export const makeHealthService = (state: ServerState): HealthService => {
  const watchers = new Set<Watcher>()
  let timer: NodeJS.Timeout | undefined
  let closed = false

  const statusOf = (service: string): Status => {
    if (!KNOWN.has(service)) return "SERVICE_UNKNOWN"
    return state.serving && !closed ? "SERVING" : "NOT_SERVING"
  }

  const push = (w: Watcher): void => {
    const s = statusOf(String(w.call.request?.service ?? ""))
    if (s === w.last) return
    w.last = s
    w.call.write({ status: s })
  }

  const drop = (w: Watcher): void => {
    watchers.delete(w)
    if (watchers.size === 0 && timer !== undefined) {
      clearInterval(timer)
      timer = undefined
    }
  }

  const poll = (): void => {
    for (const w of watchers) {
      push(w)
      // Shutdown started: the status will not change again; let the drain finish.
      if (state.draining) {
        drop(w)
        w.call.end()
      }
    }
  }

  const impl: grpc.UntypedServiceImplementation = {
    Check: (call: grpc.ServerUnaryCall<{ service?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const service = String(call.request?.service ?? "")
      const s = statusOf(service)
      if (s === "SERVICE_UNKNOWN") {
        cb({ code: grpc.status.NOT_FOUND, details: `unknown service ${JSON.stringify(service)} (this server has "", ${INFERENCE_SERVICE_NAME}, ${HEALTH_SERVICE_NAME})` })
        return
      }
      cb(null, { status: s })
    },
    Watch: (call: grpc.ServerWritableStream<{ service?: string }, { status: Status }>) => {
      const w: Watcher = { call, last: undefined }
      push(w)
      if (closed) {
        call.end()
        return
      }
      watchers.add(w)
      call.on("cancelled", () => drop(w))
      call.on("error", () => drop(w))
      timer ??= setInterval(poll, POLL_MS)
      timer.unref()
    }
  }

  return {
    impl,
    close: () => {
      closed = true
      for (const w of [...watchers]) {
        push(w)
        drop(w)
        w.call.end()
      }
    }
  }
}
