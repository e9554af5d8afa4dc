import type { IncomingMessage, ServerResponse } from "node:http"
import { BadRequest, messageOf, ModelNotFound, type Overloaded, type PayloadTooLarge } from "../../errors.js"
import type { ModelEntry } from "../../instance/model-entry.js"
import { notFound, type InferTransport, type Serving } from "../../serving/infer.js"
import { EXTENSIONS, MODEL_VERSION, SERVER_NAME, SERVER_VERSION, type ServerState } from "../../serving/server-state.js"
import type { Tensor } from "../../tensor.js"
import { FORWARD_HEADERS, forwardContextOf, type PeerForwarder } from "../../cluster/forwarder.js"
import type { InferRequest } from "../kserve-v2/infer-request.js"
import { binaryOutputsOf, decodeInferRequest, encodeInferResponse } from "../kserve-v2/index.js"
import { errorJsonFor, sendError } from "./errors.js"
import { traceOf } from "../../observability/request-trace.js"
import { traceFields } from "../../observability/trace-context.js"
import { readBody, type BodySink, type DecodeBudget } from "./read-body.js"
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from "../kserve-v2/rest-decode.js"
import type { Principal } from "../../tenancy/tenants.js"
import { readBodyDecoded, sendMaybeCompressed } from "./compression.js"
import { makeTritonRoutes } from "./triton-routes.js"

/**
 * The KServe v2 REST data plane on bare node:http. The infer route is the server's hit path,
 * so it stays in plain callbacks: route by string ops, one Map lookup for the model, the
 * cache's synchronous `tryAcquire` (in ../../serving/infer.ts), the v2 codec, one
 * `writeHead`+`end`. Measured against @effect/platform's router (toolchain.md: ~1.8k vs 13.5k
 * req/s on this machine) this is what keeps the server within a few percent of a bare
 * node:http + onnxruntime-node handler. Effect runs everything around it: configuration,
 * lifecycle, the control plane.
 */
export interface DataPlaneDeps {
  readonly serving: Serving
  readonly state: ServerState
  readonly maxBodyBytes: number
  /** tensor elements per request (--max-request-elements) */
  readonly limits?: DecodeLimits
  /** infer bodies read and decoded at once (--decode-budget) */
  readonly budget?: DecodeBudget
}

const JSON_HEADERS = { "content-type": "application/json" }

/** One REST infer request on its way: read its body, then hand it to the use case. */
class RestInferCall implements BodySink {
  /** the request body, once read */
  payload: Buffer | undefined = undefined
  constructor(
    readonly serving: Serving,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    /** the name as addressed (a vmodel's answers carry the vmodel's name) */
    readonly name: string,
    readonly entry: ModelEntry,
    readonly t0: number,
    readonly transport: InferTransport<RestInferCall>,
    readonly principal: Principal,
    readonly limits: DecodeLimits
  ) {}

  body(err: BadRequest | PayloadTooLarge | Overloaded | undefined, body?: Buffer): void {
    if (err) {
      sendError(this.res, err)
      this.serving.rejected(this.entry, err, this.t0, "http")
      return
    }
    this.payload = body
    this.serving.infer(this.transport, this, this.entry, this.t0, this.principal)
  }
}

const REST_LOCAL: InferTransport<RestInferCall> = {
  transport: "http",
  decode: (call, inputs) => {
    const hl = call.req.headers["inference-header-content-length"]
    return decodeInferRequest(call.payload!, hl === undefined ? undefined : parseHeaderLength(hl), inputs, call.limits)
  },
  reply: (call, outputs: Tensor[], r: InferRequest) => {
    const enc = encodeInferResponse(call.name, MODEL_VERSION, r.id, outputs, binaryOutputsOf(r))
    const headers: Record<string, string | number> = { "content-type": enc.contentType, "content-length": enc.body.length }
    if (enc.headerLength !== undefined) headers["inference-header-content-length"] = enc.headerLength
    // Accept-Encoding: compressed when worth it (./compression.ts); absent, the answer goes as is.
    if (call.req.headers["accept-encoding"] !== undefined) return sendMaybeCompressed(call.req, call.res, headers, enc.body)
    call.res.writeHead(200, headers)
    call.res.end(enc.body)
  },
  fail: (call, err) => sendError(call.res, err),
  logFields: (call) => ({ requestId: call.req.headers["x-request-id"], ...traceFields(traceOf(call.req)) }),
  trace: (call) => traceOf(call.req)
}

/**
 * Cluster mode: the same transport, able to forward the request's raw bytes (path, body and
 * protocol headers unchanged) to a peer and to refuse a forwarded request it cannot serve.
 */
const restInCluster = (forwarder: PeerForwarder): InferTransport<RestInferCall> => ({
  ...REST_LOCAL,
  context: (call) => forwardContextOf(call.req.headers),
  forward: (call, to, mode, ctx) =>
    forwarder.forward({ id: to.id, url: to.httpUrl }, call.req.url ?? "/", call.req.headers, call.payload!, ctx, mode, call.res, traceOf(call.req)),
  refuse: (call, refusal, message) => {
    const body = errorJsonFor(call.res, message)
    call.res.writeHead(503, { "content-type": "application/json", "content-length": Buffer.byteLength(body), [FORWARD_HEADERS.refused]: refusal })
    call.res.end(body)
  }
})

export const makeDataPlane = (d: DataPlaneDeps) => {
  const { serving, state } = d
  const limits = d.limits ?? DEFAULT_DECODE_LIMITS
  const budget = d.budget
  const budgetHold = (res: ServerResponse) => (budget === undefined ? undefined : { budget, until: res })
  const triton = makeTritonRoutes(serving)
  // Cluster mode is joined after the listeners are up (peers need the address): pick the
  // transport per request, building the cluster one once.
  let rest = REST_LOCAL
  let restFor: PeerForwarder | undefined
  const transport = (): InferTransport<RestInferCall> => {
    const c = state.cluster
    if (c === undefined) return REST_LOCAL
    if (restFor !== c.forwarder) {
      restFor = c.forwarder
      rest = restInCluster(c.forwarder)
    }
    return rest
  }

  const sendJson = (res: ServerResponse, status: number, value: unknown): void => {
    const body = JSON.stringify(value)
    res.writeHead(status, { ...JSON_HEADERS, "content-length": Buffer.byteLength(body) })
    res.end(body)
  }

  // ---- infer: the hit path --------------------------------------------------------------------

  const infer = (req: IncomingMessage, res: ServerResponse, name: string, t0: number, p: Principal): void => {
    const e = serving.resolve(name, p)
    if (e === undefined) {
      // Answer without reading a body that may be large; the connection stays usable.
      req.resume()
      const err = notFound(name)
      sendError(res, err)
      serving.rejected(undefined, err, t0, "http")
      return
    }
    const call = new RestInferCall(serving, req, res, name, e, t0, transport(), p, limits)
    serving.loadOnArrival(e, p)
    // Content-Encoding: gzip / deflate bodies are inflated under the same limit (./compression.ts).
    if (req.headers["content-encoding"] !== undefined) readBodyDecoded(req, d.maxBodyBytes, call, budgetHold(res))
    else readBody(req, d.maxBodyBytes, call, budgetHold(res))
  }

  // ---- the rest of the v2 API --------------------------------------------------------------------

  const modelMetadata = (res: ServerResponse, name: string, e: ModelEntry): void => {
    serving.metadata(e, name).then(
      (m) => sendJson(res, 200, m),
      (err) => failed(res, err, name)
    )
  }

  const modelReady = (res: ServerResponse, name: string, e: ModelEntry): void => {
    const ready = serving.isReady(e)
    sendJson(res, ready ? 200 : 503, { name, ready, state: serving.statusOf(e) })
  }

  /** A failure outside the infer route: answered, and logged when it is a fault on this side. */
  const failed = (res: ServerResponse, err: unknown, model?: string): void => {
    serving.noteFailure(err, model)
    sendError(res, err)
  }

  const repositoryIndex = (req: IncomingMessage, res: ServerResponse, p: Principal): void => {
    readBody(req, 1 << 20, {
      body: (err, body) => {
        if (err) return void sendError(res, err)
        let readyOnly = false
        if (body!.length > 0) {
          let parsed: unknown
          try {
            parsed = JSON.parse(body!.toString("utf8"))
          } catch (e) {
            return void sendError(res, new BadRequest({ message: `malformed JSON in request body: ${messageOf(e)}` }))
          }
          if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
            return void sendError(res, new BadRequest({ message: "request body must be a JSON object" }))
          }
          const ready = (parsed as { ready?: unknown }).ready
          if (ready !== undefined && typeof ready !== "boolean") return void sendError(res, new BadRequest({ message: `"ready" must be a boolean` }))
          readyOnly = ready === true
        }
        sendJson(res, 200, serving.repositoryIndex(readyOnly, p))
      }
    })
  }

  const repositoryAction = (req: IncomingMessage, res: ServerResponse, name: string, action: string, p: Principal): void => {
    const e = serving.resolve(name, p)
    req.resume()
    if (!e) return void sendError(res, notFound(name))
    ;(action === "load" ? serving.load(e) : serving.unload(e)).then(
      () => sendJson(res, 200, {}),
      (err) => failed(res, err, name)
    )
  }

  /** Route a request; false when the path is not part of the data plane (the control plane handles it). */
  return (req: IncomingMessage, res: ServerResponse, p: Principal): boolean => {
    const url = req.url ?? "/"
    const q = url.indexOf("?")
    const path = q < 0 ? url : url.slice(0, q)
    if (path !== "/v2" && !path.startsWith("/v2/")) return false
    const t0 = performance.now()
    const method = req.method ?? "GET"
    const parts = path.split("/") // ["", "v2", ...]

    if (path === "/v2/models/stats") {
      req.resume()
      if (method !== "GET") return methodNotAllowed(req, res, "GET")
      triton.allStats(req, res, p)
      return true
    }
    if (parts[2] === "models" && parts.length >= 4) {
      let name: string
      try {
        name = decodeURIComponent(parts[3]!)
      } catch {
        sendError(res, new BadRequest({ message: `model name in ${path} is not valid URL encoding` }))
        return true
      }
      let i = 4
      if (parts[i] === "versions") {
        const v = parts[i + 1]
        if (v !== MODEL_VERSION) {
          req.resume()
          sendError(res, new ModelNotFound({ message: `model "${name}" has no version ${JSON.stringify(v ?? "")} (only ${MODEL_VERSION})` }))
          return true
        }
        i += 2
      }
      const action = parts[i]
      if (parts.length > i + 1) return notRouted(req, res, path)
      if (action === "infer") {
        if (method !== "POST") return methodNotAllowed(req, res, "POST")
        infer(req, res, name, t0, p)
        return true
      }
      if (action !== undefined && action !== "ready" && action !== "config" && action !== "stats") return notRouted(req, res, path)
      if (method !== "GET") return methodNotAllowed(req, res, "GET")
      req.resume()
      const e = serving.resolve(name, p)
      if (!e) {
        sendError(res, notFound(name))
        return true
      }
      if (action === "ready") modelReady(res, name, e)
      else if (action === "config") triton.config(req, res, name, e)
      else if (action === "stats") triton.stats(req, res, name, e, p)
      else modelMetadata(res, name, e)
      return true
    }
    if (parts[2] === "repository") {
      if (method !== "POST") return methodNotAllowed(req, res, "POST")
      if (parts.length === 4 && parts[3] === "index") {
        repositoryIndex(req, res, p)
        return true
      }
      if (parts.length === 6 && parts[3] === "models" && (parts[5] === "load" || parts[5] === "unload")) {
        let name: string
        try {
          name = decodeURIComponent(parts[4]!)
        } catch {
          req.resume()
          sendError(res, new BadRequest({ message: `model name in ${path} is not valid URL encoding` }))
          return true
        }
        repositoryAction(req, res, name, parts[5], p)
        return true
      }
      return notRouted(req, res, path)
    }
    req.resume()
    if (method !== "GET") return methodNotAllowed(req, res, "GET")
    if (path === "/v2" || path === "/v2/") {
      sendJson(res, 200, { name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS })
    } else if (path === "/v2/health/live") {
      sendJson(res, 200, { live: true })
    } else if (path === "/v2/health/ready") {
      const ready = state.serving
      sendJson(res, ready ? 200 : 503, { ready })
    } else {
      return notRouted(req, res, path)
    }
    return true
  }

  function notRouted(req: IncomingMessage, res: ServerResponse, path: string): true {
    req.resume()
    const body = errorJsonFor(res, `no such endpoint: ${path}`)
    res.writeHead(404, { ...JSON_HEADERS, "content-length": Buffer.byteLength(body) })
    res.end(body)
    return true
  }
  function methodNotAllowed(req: IncomingMessage, res: ServerResponse, allow: string): true {
    req.resume()
    const body = errorJsonFor(res, `method ${req.method} not allowed here (use ${allow})`)
    res.writeHead(405, { ...JSON_HEADERS, allow, "content-length": Buffer.byteLength(body) })
    res.end(body)
    return true
  }
}

const parseHeaderLength = (v: string | string[]): number => {
  const s = Array.isArray(v) ? v[0]! : v
  if (!/^\d+$/.test(s.trim())) throw new BadRequest({ message: `Inference-Header-Content-Length must be a non-negative integer, got ${JSON.stringify(s)}` })
  return Number(s)
}

