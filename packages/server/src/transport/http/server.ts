import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { createServer as createTlsServer } from "node:https"
import type { AddressInfo } from "node:net"
import { Context, Effect, Layer } from "effect"
import { Config } from "../../config/config.js"
import { ListenError, messageOf } from "../../errors.js"
import { Log } from "../../observability/log.js"
import { Serving } from "../../serving/infer.js"
import { ServerState } from "../../serving/server-state.js"
import { makeControlPlane } from "./control-plane.js"
import { makeDataPlane } from "./data-plane.js"
import { DecodeBudget } from "./read-body.js"
import { clusterRoutes } from "./cluster-routes.js"
import { FORWARD_HEADERS } from "../../cluster/forwarder.js"
import { makeHttpAuth } from "../../tenancy/http-auth.js"
import { Tenants } from "../../tenancy/tenants.js"
import { Tls } from "../../tenancy/tls.js"
import { makeAccessLog } from "../../observability/access-log.js"
import { makeHttpEntry } from "../../observability/request-trace.js"
import { Spans } from "../../observability/spans.js"
import { errorJsonFor } from "./errors.js"

/** Where the HTTP listener ended up (port 0 = a free port chosen by the OS). Its own service tag. */
export class HttpListener extends Context.Tag("meshkit/server/HttpListener")<HttpListener, { readonly host: string; readonly port: number; readonly scheme: "http" | "https" }>() {}

/**
 * One node:http server: the data plane (/v2/...) answers from plain callbacks, everything else
 * goes to the Effect control plane. Closing the scope drains: the listener stops accepting,
 * idle keep-alive connections close, requests arriving on busy connections get 503 with
 * `Connection: close`, and in-flight requests finish (up to the drain timeout).
 */
export const HttpServerLive = Layer.scoped(
  HttpListener,
  Effect.gen(function* () {
    const config = yield* Config
    const serving = yield* Serving
    const log = yield* Log
    const state = yield* ServerState
    const control = yield* makeControlPlane
    const data = makeDataPlane({
      serving,
      state,
      maxBodyBytes: config.maxBodySize,
      limits: { maxElements: config.maxRequestElements },
      budget: new DecodeBudget(config.decodeBudget)
    })
    const cluster = clusterRoutes(state)
    const tls = yield* Tls
    const auth = makeHttpAuth(yield* Tenants, config.modelMetrics)
    // request id, trace context, access log and server spans: before anything answers
    const entry = makeHttpEntry({ spans: yield* Spans, accessLog: config.accessLog ? makeAccessLog() : undefined })

    let active = 0
    let onIdle: (() => void) | undefined
    const done = () => {
      active--
      if (active === 0 && onIdle) onIdle()
    }
    // Slow clients: headers within headersTimeout, the whole request within requestTimeout
    // (node checks both every connectionsCheckingInterval), at most maxConnections sockets.
    const options = {
      keepAliveTimeout: config.keepAliveTimeout,
      headersTimeout: Math.min(config.headersTimeout, config.requestTimeout),
      requestTimeout: config.requestTimeout,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(config.headersTimeout / 4)))
    }
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      active++
      res.once("close", done)
      entry(req, res)
      if (state.draining) {
        req.resume()
        const body = errorJsonFor(res, "server is shutting down")
        // The refusal header tells a forwarding peer to try another instance instead of passing the 503 on.
        res.writeHead(503, { "content-type": "application/json", "content-length": Buffer.byteLength(body), connection: "close", [FORWARD_HEADERS.refused]: "draining" })
        res.end(body)
        return
      }
      try {
        const p = auth(req, res)
        if (p === undefined) return
        if (!cluster(req, res, p) && !data(req, res, p)) control(req, res)
      } catch (err) {
        // A bug, not a request problem: answer 500 and keep serving.
        log.error("unhandled error in request handler", { url: req.url, requestId: req.headers["x-request-id"], error: messageOf(err) })
        if (!res.headersSent) {
          const body = errorJsonFor(res, `internal error: ${messageOf(err)}`)
          res.writeHead(500, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
          res.end(body)
        } else res.destroy()
      }
    }
    // With a client CA, a client must present a certificate it signed (mutual TLS).
    const server: Server =
      tls === undefined
        ? createServer(options, handle)
        : createTlsServer({ ...options, cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) }, handle)
    server.maxConnections = config.maxConnections
    server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable || err.code === "ECONNRESET") return void socket.destroy()
      const timedOut = err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      const body = JSON.stringify({ error: timedOut ? "request not received in time (--headers-timeout, --request-timeout)" : err.message })
      socket.end(`HTTP/1.1 ${timedOut ? "408 Request Timeout" : "400 Bad Request"}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
    })

    const address = yield* Effect.acquireRelease(
      Effect.async<AddressInfo, ListenError>((resume) => {
        const onError = (err: NodeJS.ErrnoException) =>
          resume(Effect.fail(new ListenError({ message: `cannot listen on http://${config.host}:${config.port}: ${err.code === "EADDRINUSE" ? "address already in use" : err.message}` })))
        server.once("error", onError)
        server.listen(config.port, config.host, () => {
          server.off("error", onError)
          resume(Effect.succeed(server.address() as AddressInfo))
        })
      }),
      () =>
        Effect.async<void>((resume) => {
          state.draining = true
          const inFlight = active
          log.info("http draining", { inFlight })
          let finished = false
          const finish = () => {
            if (finished) return
            finished = true
            clearTimeout(timer)
            server.closeAllConnections()
            log.info("http closed")
            resume(Effect.void)
          }
          const timer = setTimeout(() => {
            if (active > 0) log.warn("drain timeout: closing connections with requests in flight", { inFlight: active })
            finish()
          }, config.drainTimeout)
          server.close()
          server.closeIdleConnections()
          if (active === 0) finish()
          else onIdle = finish
        })
    )
    return { host: config.host, port: address.port, scheme: tls === undefined ? ("http" as const) : ("https" as const) }
  })
)
