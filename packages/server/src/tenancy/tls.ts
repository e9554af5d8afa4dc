/**
 * TLS material for both listeners and for peer forwarding, read once at start (--tls-cert,
 * --tls-key, --tls-client-ca). With a client CA the listeners require a certificate it signed
 * (mutual TLS), and an instance forwarding to a peer presents its own certificate and checks the
 * peer's against that CA.
 */
import { readFile } from "node:fs/promises"
import { Context, Data, Effect, Layer } from "effect"
import { Config, type ServerConfig } from "../config/config.js"
import { messageOf } from "../errors.js"

export interface TlsMaterial {
  readonly cert: Buffer
  readonly key: Buffer
  /** the client CA (mutual TLS); also what peers' certificates are checked against */
  readonly ca?: Buffer
}

export class TlsConfigError extends Data.TaggedError("TlsConfigError")<{ readonly message: string }> {}

/** The TLS material, or undefined for plain HTTP / insecure gRPC. Its own service tag. */
export class Tls extends Context.Tag("meshkit/server/Tls")<Tls, TlsMaterial | undefined>() {}

const readPem = (flag: string, path: string): Effect.Effect<Buffer, TlsConfigError> =>
  Effect.tryPromise({
    try: async () => {
      const b = await readFile(path)
      if (!b.toString("latin1").includes("-----BEGIN ")) throw new Error("not a PEM file")
      return b
    },
    catch: (e) => new TlsConfigError({ message: `${flag} ${path}: ${messageOf(e)}` })
  })

export const readTls = (c: ServerConfig): Effect.Effect<TlsMaterial | undefined, TlsConfigError> =>
  Effect.gen(function* () {
    if (c.tlsCert === undefined && c.tlsKey === undefined) {
      if (c.tlsClientCa !== undefined) return yield* new TlsConfigError({ message: "--tls-client-ca needs --tls-cert and --tls-key" })
      return undefined
    }
    if (c.tlsCert === undefined || c.tlsKey === undefined) return yield* new TlsConfigError({ message: "--tls-cert and --tls-key go together" })
    const cert = yield* readPem("--tls-cert", c.tlsCert)
    const key = yield* readPem("--tls-key", c.tlsKey)
    const ca = c.tlsClientCa === undefined ? undefined : yield* readPem("--tls-client-ca", c.tlsClientCa)
    return ca === undefined ? { cert, key } : { cert, key, ca }
  })

export const TlsLive = Layer.effect(Tls, Effect.flatMap(Config, readTls))
