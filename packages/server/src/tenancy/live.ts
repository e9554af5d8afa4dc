/**
 * The Tenants service from the configuration, with the start-up checks that keep a server from
 * running less safe than its operator thinks:
 *  - without a tenants file the server is open (every caller is the admin), so it listens on
 *    loopback only unless --insecure-open says otherwise;
 *  - memory shares must fit in --memory;
 *  - in cluster mode with a tenants file every instance needs the token it shows its peers
 *    (MESHKIT_PEER_TOKEN), and that token must be the file's peer or admin token.
 *
 * Cluster mode: every instance reads the same tenants file (the simplest thing that holds: no
 * token digest ever goes to etcd, and the file is deployed like a secret beside the others).
 */
import { Effect, Layer } from "effect"
import { Config, type ServerConfig } from "../config/config.js"
import { digestsOf, readTenantsFile, TenantsFileError, type TenantsFile } from "./tenants-file.js"
import { Tenants, tokenMatches } from "./tenants.js"
import { messageOf } from "../errors.js"

const asTenantsError = (e: unknown): TenantsFileError => (e instanceof TenantsFileError ? e : new TenantsFileError({ message: messageOf(e) }))

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|\[::1\])$/i

export const isLoopbackHost = (host: string): boolean => LOOPBACK.test(host)

export const checkSecurity = (c: ServerConfig, file: TenantsFile | undefined): void => {
  if (file === undefined) {
    if (!isLoopbackHost(c.host) && !c.insecureOpen) {
      throw new TenantsFileError({
        message: `refusing to listen on --host ${c.host} without authentication: give --tenants FILE, or --insecure-open to serve everyone who can reach it`
      })
    }
    return
  }
  if (c.etcd !== undefined) {
    if (c.peerToken === undefined) {
      throw new TenantsFileError({ message: "cluster mode with --tenants: set MESHKIT_PEER_TOKEN (the token this instance shows its peers: the file's peer or admin token)" })
    }
    const allowed = [...digestsOf(file.admin), ...(file.peer ? digestsOf(file.peer) : [])]
    if (!allowed.some((d) => tokenMatches(c.peerToken!, d))) {
      throw new TenantsFileError({ message: "MESHKIT_PEER_TOKEN matches neither the peer nor the admin token of the tenants file" })
    }
  }
}

export const TenantsLive = Layer.effect(
  Tenants,
  Effect.gen(function* () {
    const c = yield* Config
    const file = c.tenants === undefined ? undefined : yield* Effect.tryPromise({ try: () => readTenantsFile(c.tenants!), catch: (e) => asTenantsError(e) })
    yield* Effect.try({ try: () => checkSecurity(c, file), catch: (e) => asTenantsError(e) })
    return yield* Effect.try({
      try: () => new Tenants(file, c.memory, { metricsTokenSha256: c.metricsToken }),
      catch: (e) => asTenantsError(e)
    })
  })
)
