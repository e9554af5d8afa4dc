/**
 * RepositoryModelLoad / RepositoryModelUnload for both clients that call them. Triton's request
 * has repository_name = 1 and model_name = 2; KServe's has model_name = 1 only, which this
 * server's proto (Triton's layout) decodes as repository_name. So: field 2 when set, else
 * field 1. The answer carries KServe's fields (model_name, isLoaded / isUnloaded), which
 * Triton's clients skip as unknown.
 */
import type * as grpc from "@grpc/grpc-js"
import type { ModelEntry } from "../../instance/model-entry.js"
import type { Serving } from "../../serving/infer.js"
import type { Principal } from "../../tenancy/tenants.js"

type Callback = (err: grpc.ServiceError | null, value?: unknown) => void
interface Call {
  readonly request: { repository_name?: string; model_name?: string } | undefined
  readonly metadata: grpc.Metadata
}

/** The model a repository request names, in either layout (mm-model-id metadata first, as elsewhere). */
export const repositoryModelName = (call: Call): string => {
  const mm = call.metadata.get("mm-vmodel-id")[0] ?? call.metadata.get("mm-model-id")[0]
  if (mm !== undefined) return String(mm)
  const triton = call.request?.model_name ?? ""
  return triton !== "" ? triton : (call.request?.repository_name ?? "")
}

export const repositoryHandlers = (o: {
  readonly serving: Serving
  readonly fail: (cb: Callback, err: unknown, model?: string) => void
  readonly draining: (cb: Callback) => boolean
  /** each handler starts with the caller's principal (the server's auth check) */
  readonly authed: (h: (call: Call, cb: Callback, p: Principal) => void) => (call: Call, cb: Callback) => void
}): grpc.UntypedServiceImplementation => {
  const act = (call: Call, cb: Callback, load: boolean, p: Principal): void => {
    const name = repositoryModelName(call)
    let e: ModelEntry
    try {
      e = o.serving.lookup(name, undefined, p)
    } catch (err) {
      return o.fail(cb, err)
    }
    ;(load ? o.serving.load(e) : o.serving.unload(e)).then(
      () => cb(null, load ? { model_name: name, isLoaded: true } : { model_name: name, isUnloaded: true }),
      (err) => o.fail(cb, err, e.id)
    )
  }
  return {
    RepositoryModelLoad: o.authed((call, cb, p) => {
      if (o.draining(cb)) return
      act(call, cb, true, p)
    }),
    RepositoryModelUnload: o.authed((call, cb, p) => act(call, cb, false, p))
  }
}
