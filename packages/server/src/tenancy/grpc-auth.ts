/**
 * The gRPC listener's authentication: the `authorization` metadata (`Bearer <token>`) resolved
 * to a principal at the start of each handler. ServerLive and ServerReady (health) need none.
 */
import type * as grpc from "@grpc/grpc-js"
import type { Principal, Tenants } from "./tenants.js"
import { OPEN } from "./tenants.js"

/** The caller of a gRPC call, or undefined (answer UNAUTHENTICATED). Peers never call over gRPC: no tenant header here. */
export const grpcPrincipal = (tenants: Tenants, metadata: grpc.Metadata): Principal | undefined => {
  if (!tenants.enabled) return OPEN
  const v = metadata.get("authorization")[0]
  return tenants.authenticate(typeof v === "string" ? v : undefined, undefined)
}
