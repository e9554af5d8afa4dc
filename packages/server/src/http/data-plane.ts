import type { IncomingMessage, ServerResponse } from "node:http"
import type { ModelEntry, ModelManager } from "../cache/model-manager.js"
import { BadRequest, ModelNotFound } from "../errors.js"
import type { Log } from "../log.js"
import type { RequestSeries, ServerMetrics } from "../metrics.js"
import { binaryOutputsOf, decodeInferRequest, encodeInferResponse } from "../protocol/index.js"
import type { LoadedModel, TensorMeta } from "../runtime/runtime.js"
import { EXTENSIONS, MODEL_VERSION, SERVER_NAME, SERVER_VERSION, type ServerState } from "../server-state.js"
import type { VModelManager } from "../vmodels.js"
import { errorBody, errorHeaders, httpErrorOf } from "./errors.js"
import { readBody } from "./read-body.js"
import { repositoryIndex as listRepository } from "../repository-index.js"

/**
 * The KServe v2 REST data plane on bare node:http. The infer route is the server's hit path,
 * so it stays in plain callbacks: route by string ops, one Map lookup for the model, the
 * cache's synchronous `tryAcquire`, E1's codec, one `writeHead`+`end`. Measured against
 * @effect/platform's router (toolchain.md: ~1.8k vs 13.5k req/s on this machine) this is what
 * keeps the server within a few percent of a bare node:http + onnxruntime-node handler.
 * Effect runs everything around it: configuration, lifecycle, the control plane.
 *
 * Returns false for paths it does not own (the control plane handles them).
 */
export interface DataPlaneDeps {
  readonly manager: ModelManager
  readonly vmodels: VModelManager
  readonly metrics: ServerMetrics
  readonly log: Log
  readonly state: ServerState
  readonly maxBodyBytes: number
}

const JSON_HEADERS = { "content-type": "application/json" }

export const makeDataPlane = (d: DataPlaneDeps) => {
  const { manager, vmodels, metrics, log, state } = d
  const okCounters = new WeakMap<ModelEntry, RequestSeries>()

  const sendJson = (res: ServerResponse, status: number, value: unknown): void => {
    const body = JSON.stringify(value)
    res.writeHead(status, { ...JSON_HEADERS, "content-length": Buffer.byteLength(body) })
    res.end(body)
  }

  const sendError = (res: ServerResponse, err: unknown, context?: string): number => {
    const h = httpErrorOf(err)
    if (h.status >= 500 && h.status !== 503 && h.status !== 507) log.error("request failed", { context, status: h.status, error: err as Error })
    const body = errorBody(h)
    if (!res.headersSent) {
      res.writeHead(h.status, errorHeaders(h, Buffer.byteLength(body)))
      res.end(body)
    } else {
      res.destroy()
    }
    return h.status
  }

  /** A model name as addressed: a vmodel resolves to its active model. */
  const entryOf = (name: string): ModelEntry | undefined => manager.lookup(vmodels.resolve(name) ?? name)

  const notFound = (name: string) => new ModelNotFound({ message: `model "${name}" is not registered` })

  const observe = (e: ModelEntry | undefined, status: number, t0: number): void => {
    const seconds = (performance.now() - t0) / 1000
    let c = status === 200 && e !== undefined ? okCounters.get(e) : undefined
    if (c === undefined) {
      c = metrics.forModel(e?.id ?? "", String(status))
      if (status === 200 && e !== undefined) okCounters.set(e, c)
    }
    metrics.observeRequest(c, seconds)
  }

  // ---- infer: the hit path --------------------------------------------------------------------

  const infer = (req: IncomingMessage, res: ServerResponse, name: string, t0: number): void => {
    const e = entryOf(name)
    if (e === undefined) {
      // Answer without reading a body that may be large; the connection stays usable.
      req.resume()
      observe(undefined, sendError(res, notFound(name)), t0)
      return
    }
    readBody(req, d.maxBodyBytes, (err, body) => {
      if (err) {
        observe(e, sendError(res, err), t0)
        return
      }
      const loaded = manager.tryAcquire(e)
      if (loaded !== undefined) {
        run(req, res, name, e, loaded, body!, t0)
        return
      }
      manager.acquire(e).then(
        (m) => run(req, res, name, e, m, body!, t0),
        (err2) => observe(e, sendError(res, err2, name), t0)
      )
    })
  }

  const run = (req: IncomingMessage, res: ServerResponse, name: string, e: ModelEntry, m: LoadedModel, body: Buffer, t0: number): void => {
    let request
    try {
      const hl = req.headers["inference-header-content-length"]
      const headerLength = hl === undefined ? undefined : parseHeaderLength(hl)
      request = decodeInferRequest(body, headerLength, m.inputs)
    } catch (err) {
      manager.release(e)
      observe(e, sendError(res, err, name), t0)
      return
    }
    const r = request
    m.infer(r.inputs, r.outputs?.map((o) => o.name)).then(
      (outputs) => {
        manager.release(e)
        let enc
        try {
          enc = encodeInferResponse(name, MODEL_VERSION, r.id, outputs, binaryOutputsOf(r))
        } catch (err) {
          observe(e, sendError(res, err, name), t0)
          return
        }
        const headers: Record<string, string | number> = { "content-type": enc.contentType, "content-length": enc.body.length }
        if (enc.headerLength !== undefined) headers["inference-header-content-length"] = enc.headerLength
        res.writeHead(200, headers)
        res.end(enc.body)
        observe(e, 200, t0)
      },
      (err) => {
        manager.release(e)
        observe(e, sendError(res, err, name), t0)
      }
    )
  }

  // ---- the rest of the v2 API --------------------------------------------------------------------

  const modelMetadata = (res: ServerResponse, name: string, e: ModelEntry): void => {
    const answer = () => {
      const io = e.io!
      sendJson(res, 200, {
        name,
        versions: [MODEL_VERSION],
        platform: platformOf(e.record.format),
        inputs: io.inputs.map(metaJson),
        outputs: io.outputs.map(metaJson)
      })
    }
    // Inputs and outputs are known once the model has been loaded (in this process).
    if (e.io) return answer()
    manager.ensureLoaded(e, true).then(answer, (err) => sendError(res, err, name))
  }

  const modelReady = (res: ServerResponse, name: string, e: ModelEntry): void => {
    const s = manager.status(e)
    sendJson(res, s.status === "LOADED" ? 200 : 503, { name, ready: s.status === "LOADED", state: s.status })
  }

  const repositoryIndex = (req: IncomingMessage, res: ServerResponse): void => {
    readBody(req, 1 << 20, (err, body) => {
      if (err) return void sendError(res, err)
      let readyOnly = false
      if (body!.length > 0) {
        let parsed: unknown
        try {
          parsed = JSON.parse(body!.toString("utf8"))
        } catch (e) {
          return void sendError(res, new BadRequest({ message: `malformed JSON in request body: ${(e as Error).message}` }))
        }
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
          return void sendError(res, new BadRequest({ message: "request body must be a JSON object" }))
        }
        const ready = (parsed as { ready?: unknown }).ready
        if (ready !== undefined && typeof ready !== "boolean") return void sendError(res, new BadRequest({ message: `"ready" must be a boolean` }))
        readyOnly = ready === true
      }
      const out = listRepository(manager, readyOnly)
      sendJson(res, 200, out)
    })
  }

  const repositoryAction = (req: IncomingMessage, res: ServerResponse, name: string, action: string): void => {
    const e = entryOf(name)
    req.resume()
    if (!e) return void sendError(res, notFound(name))
    if (action === "load") {
      manager.ensureLoaded(e, true).then(
        () => sendJson(res, 200, {}),
        (err) => sendError(res, err, name)
      )
    } else {
      manager.unload(e).then(
        () => sendJson(res, 200, {}),
        (err) => sendError(res, err, name)
      )
    }
  }

  /** Route a request; false when the path is not part of the data plane. */
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? "/"
    const q = url.indexOf("?")
    const path = q < 0 ? url : url.slice(0, q)
    if (path !== "/v2" && !path.startsWith("/v2/")) return false
    const t0 = performance.now()
    const method = req.method ?? "GET"
    const parts = path.split("/") // ["", "v2", ...]

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
        infer(req, res, name, t0)
        return true
      }
      if (action !== undefined && action !== "ready") return notRouted(req, res, path)
      if (method !== "GET") return methodNotAllowed(req, res, "GET")
      req.resume()
      const e = entryOf(name)
      if (!e) {
        sendError(res, notFound(name))
        return true
      }
      if (action === "ready") modelReady(res, name, e)
      else modelMetadata(res, name, e)
      return true
    }
    if (parts[2] === "repository") {
      if (method !== "POST") return methodNotAllowed(req, res, "POST")
      if (parts.length === 4 && parts[3] === "index") {
        repositoryIndex(req, res)
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
        repositoryAction(req, res, name, parts[5])
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
      const ready = state.ready && !state.draining
      sendJson(res, ready ? 200 : 503, { ready })
    } else {
      return notRouted(req, res, path)
    }
    return true
  }

  function notRouted(req: IncomingMessage, res: ServerResponse, path: string): true {
    req.resume()
    sendJson(res, 404, { error: `no such endpoint: ${path}` })
    return true
  }
  function methodNotAllowed(req: IncomingMessage, res: ServerResponse, allow: string): true {
    req.resume()
    const body = JSON.stringify({ error: `method ${req.method} not allowed here (use ${allow})` })
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

const metaJson = (m: TensorMeta) => ({ name: m.name, datatype: m.datatype, shape: [...m.shape] })

export const platformOf = (format: string): string => (format === "onnx" ? "onnxruntime_onnx" : format)
