import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { Context, Effect, Layer } from "effect"
import { Config } from "../../config/config.js"
import { ListenError, messageOf } from "../../errors.js"
import { Log } from "../../observability/log.js"
import { Serving } from "../../serving/infer.js"
import { ServerState } from "../../serving/server-state.js"
import { makeControlPlane } from "./control-plane.js"
import { makeDataPlane } from "./data-plane.js"
import { clusterRoutes } from "./cluster-routes.js"
import { FORWARD_HEADERS } from "../../cluster/forwarder.js"
import { makeAccessLog } from "../../observability/access-log.js"
import { makeHttpEntry } from "../../observability/request-trace.js"
import { Spans } from "../../observability/spans.js"
import { errorJsonFor } from "./errors.js"

/** Where the HTTP listener ended up (port 0 = a free port chosen by the OS). Its own service tag. */
export class HttpListener extends Context.Tag("meshkit/server/HttpListener")<HttpListener, { readonly host: string; readonly port: number }>() {}

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
    const data = makeDataPlane({ serving, state, maxBodyBytes: config.maxBodySize })
    const cluster = clusterRoutes(state)
    // request id, trace context, access log and server spans: before anything answers
    const entry = makeHttpEntry({ spans: yield* Spans, accessLog: config.accessLog ? makeAccessLog() : undefined })

    let active = 0
    let onIdle: (() => void) | undefined
    const done = () => {
      active--
      if (active === 0 && onIdle) onIdle()
    }
    const server: Server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
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
        if (!cluster(req, res) && !data(req, res)) control(req, res)
      } catch (err) {
        // A bug, not a request problem: answer 500 and keep serving.
        log.error("unhandled error in request handler", { url: req.url, requestId: req.headers["x-request-id"], error: messageOf(err) })
        if (!res.headersSent) {
          const body = errorJsonFor(res, `internal error: ${messageOf(err)}`)
          res.writeHead(500, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
          res.end(body)
        } else res.destroy()
      }
    })
    server.on("clientError", (err, socket) => {
      if (socket.writable) socket.end(`HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n${JSON.stringify({ error: err.message })}`)
      else socket.destroy()
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
    return { host: config.host, port: address.port }
  })
)
