/**
 * The REST listener's authentication, run first on every request: the bearer token resolved
 * to a principal, or a 401 answered right here. Health probes (/v2/health/live, /ready) need no
 * token; nor does /metrics while it names no model (--model-metrics off). Without a tenants
 * file it returns the open principal at once: no header is read, nothing is hashed.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { NOBODY, OPEN, type Principal, TENANT_HEADER, tenantHeaderOf, type Tenants } from "./tenants.js"

const UNAUTHORIZED_BODY = JSON.stringify({ error: "authentication required: send Authorization: Bearer <token>" })

const unauthorized = (req: IncomingMessage, res: ServerResponse): undefined => {
  req.resume()
  res.writeHead(401, { "content-type": "application/json", "content-length": Buffer.byteLength(UNAUTHORIZED_BODY), "www-authenticate": "Bearer", "x-meshkit-kind": "unauthenticated" })
  res.end(UNAUTHORIZED_BODY)
  return undefined
}

/** The principal of each request, for the control plane (an Effect router that only sees the request). */
const principals = new WeakMap<IncomingMessage, Principal>()
export const principalOf = (req: IncomingMessage, tenants: Tenants): Principal => (tenants.enabled ? (principals.get(req) ?? NOBODY) : OPEN)

export const makeHttpAuth = (tenants: Tenants, modelMetrics: boolean) => {
  const metricsGated = modelMetrics && tenants.gatesMetrics
  return (req: IncomingMessage, res: ServerResponse): Principal | undefined => {
    const url = req.url ?? "/"
    if (!tenants.enabled && !metricsGated) return OPEN
    if (url === "/v2/health/live" || url === "/v2/health/ready") return NOBODY
    if (url === "/metrics" || url.startsWith("/metrics?")) {
      if (!metricsGated || tenants.mayReadMetrics(req.headers.authorization)) return NOBODY
      return unauthorized(req, res)
    }
    if (!tenants.enabled) return OPEN
    const h = req.headers[TENANT_HEADER]
    const p = tenants.authenticate(req.headers.authorization, typeof h === "string" ? h : undefined)
    if (p === undefined) return unauthorized(req, res)
    // What a forward to a peer carries: the caller as this instance authenticated it, never as sent.
    const tenant = tenantHeaderOf(p)
    if (tenant === "") delete req.headers[TENANT_HEADER]
    else req.headers[TENANT_HEADER] = tenant
    if (!url.startsWith("/v2/")) principals.set(req, p)
    return p
  }
}
