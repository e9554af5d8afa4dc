/**
 * Triton's ModelConfig and ModelStatistics RPCs: the same answers as the REST routes
 * (../http/triton-routes.ts), from serving/model-config.ts and serving/model-stats.ts.
 */
import type * as grpc from "@grpc/grpc-js"
import type { ModelEntry } from "../../instance/model-entry.js"
import type { Serving } from "../../serving/infer.js"
import type { Principal } from "../../tenancy/tenants.js"

type Callback = (err: grpc.ServiceError | null, value?: unknown) => void
interface Call {
  readonly request: { name?: string; version?: string }
}

export const modelConfigHandlers = (o: {
  readonly serving: Serving
  /** the model name, with ModelMesh's mm-model-id metadata taking precedence */
  readonly nameOf: (call: Call & { metadata: grpc.Metadata }, field: string) => string
  readonly fail: (cb: Callback, err: unknown, model?: string) => void
  readonly draining: (cb: Callback) => boolean
  /** each handler starts with the caller's principal (the server's auth check) */
  readonly authed: (h: (call: Call & { metadata: grpc.Metadata }, cb: Callback, p: Principal) => void) => (call: Call & { metadata: grpc.Metadata }, cb: Callback) => void
}): grpc.UntypedServiceImplementation => ({
  ModelConfig: o.authed((call, cb, p) => {
    if (o.draining(cb)) return
    const name = o.nameOf(call, "name")
    let e: ModelEntry
    try {
      e = o.serving.lookup(name, call.request.version, p)
    } catch (err) {
      return o.fail(cb, err)
    }
    o.serving.modelConfig(e, name).then(
      (config) => cb(null, { config }),
      (err) => o.fail(cb, err, name)
    )
  }),
  ModelStatistics: o.authed((call, cb, p) => {
    const name = o.nameOf(call, "name")
    // Triton: no name = every model (a version without a name is ignored, as Triton does).
    if (name === "") return cb(null, { model_stats: o.serving.modelStatistics(undefined, p) })
    let e: ModelEntry
    try {
      e = o.serving.lookup(name, call.request.version, p)
    } catch (err) {
      return o.fail(cb, err)
    }
    cb(null, { model_stats: o.serving.modelStatistics(e, p, name) })
  })
})
