/**
 * Cluster mode's own HTTP routes, on plain node:http beside the data plane:
 *
 *   GET  /v1/cluster                 the instances as this one sees them, and the leader
 *   POST /v2/internal/grpc/infer/:m  a gRPC ModelInfer a peer forwarded, as its protobuf bytes
 *   POST /v2/internal/copies/:id     load a copy of the model here (another instance asks:
 *                                    scale up, minCopies, its own drain); 200 once loaded
 *   POST /v2/internal/io/:id         the model's inputs and outputs if known here (a peer
 *                                    describing a model it must not load; never loads)
 *
 * Without cluster mode /v1/cluster answers 404 with a hint, and the internal route does not exist.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { FORWARD_HEADERS } from "../../cluster/forwarder.js"
import type { ServerState } from "../../serving/server-state.js"
import type { Principal } from "../../tenancy/tenants.js"
import { requestIdOfResponse } from "../../observability/request-trace.js"

const send = (res: ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void => {
  // error bodies carry the request id ("error" stays the first field)
  const body = JSON.stringify(status >= 400 && typeof value === "object" && value !== null && "error" in value ? { ...value, requestId: requestIdOfResponse(res) } : value)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...extra })
  res.end(body)
}

/** Handles the request and returns true when it is one of these routes. */
export const clusterRoutes =
  (state: ServerState) =>
  (req: IncomingMessage, res: ServerResponse, p: Principal): boolean => {
    const url = req.url ?? "/"
    // Every request passes here first: two prefix checks and out, nothing allocated.
    if (!url.startsWith("/v1/cluster") && !url.startsWith("/v2/internal/")) return false
    const q = url.indexOf("?")
    const path = q < 0 ? url : url.slice(0, q)
    if (path === "/v1/cluster") {
      req.resume()
      if (req.method !== "GET") {
        send(res, 405, { error: `method ${req.method} not allowed here (use GET)` }, { allow: "GET" })
        return true
      }
      const node = state.cluster
      // The snapshot names every instance's models: the admin's view only.
      if (!p.isAdmin) send(res, 403, { error: "only the admin may read the cluster view" })
      else if (node === undefined) send(res, 404, { error: "this server runs alone (start it with --etcd URL to join a cluster)" })
      else send(res, 200, node.snapshot())
      return true
    }
    if (!path.startsWith("/v2/internal/")) return false
    const node = state.cluster
    if (node === undefined) return false
    if (path.startsWith("/v2/internal/grpc/infer/")) {
      if (req.method !== "POST") {
        req.resume()
        send(res, 405, { error: `method ${req.method} not allowed here (use POST)` }, { allow: "POST" })
        return true
      }
      let model: string
      try {
        model = decodeURIComponent(path.slice("/v2/internal/grpc/infer/".length))
      } catch {
        req.resume()
        send(res, 400, { error: `model name in ${path} is not valid URL encoding` })
        return true
      }
      node.grpcInfer(req, res, model, p)
      return true
    }
    if (path.startsWith("/v2/internal/io/")) {
      const id = internalModelId(req, res, path, "/v2/internal/io/", p, "ask for a model's inputs and outputs")
      if (id === undefined) return true
      const io = node.ioOf(id)
      if (io === undefined) send(res, 404, { error: `the inputs and outputs of "${id}" are not known on ${node.selfId}` }, { [FORWARD_HEADERS.refused]: "not-here" })
      else send(res, 200, io)
      return true
    }
    if (!path.startsWith("/v2/internal/copies/")) return false
    const id = internalModelId(req, res, path, "/v2/internal/copies/", p, "ask for a copy")
    if (id === undefined) return true
    node.loadCopy(id).then(
      (r) => (r.ok ? send(res, 200, { id, status: "LOADED", instanceId: node.selfId }) : send(res, 503, { error: r.message }, { [FORWARD_HEADERS.refused]: r.refusal })),
      (err: unknown) => send(res, 503, { error: String(err) }, { [FORWARD_HEADERS.refused]: "load-failed" })
    )
    return true
  }

/**
 * The shared preamble of the internal per-model POST routes (`prefix` + model id, no body):
 * the method, a peer's (or the admin's) credentials and the id's URL encoding. The model id, or
 * undefined once the refusal is sent.
 */
const internalModelId = (req: IncomingMessage, res: ServerResponse, path: string, prefix: string, p: Principal, what: string): string | undefined => {
  req.resume()
  if (req.method !== "POST") {
    send(res, 405, { error: `method ${req.method} not allowed here (use POST)` }, { allow: "POST" })
    return undefined
  }
  if (!p.isAdmin) {
    send(res, 403, { error: `only a peer instance (or the admin) may ${what}` })
    return undefined
  }
  try {
    return decodeURIComponent(path.slice(prefix.length))
  } catch {
    send(res, 400, { error: `model id in ${path} is not valid URL encoding` })
    return undefined
  }
}
