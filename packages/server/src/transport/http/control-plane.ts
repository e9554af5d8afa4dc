import { IncomingMessage, type ServerResponse } from "node:http"
import { join } from "node:path"
import { HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeHttpServerRequest } from "@effect/platform-node"
import { Effect, Either, ParseResult, Schema } from "effect"
import { Config } from "../../config/config.js"
import { BadRequest, Conflict, isServerFault, kindOf, messageOf, ModelNotFound, type Overloaded, PayloadTooLarge } from "../../errors.js"
import { ModelManager } from "../../instance/model-manager.js"
import { Log } from "../../observability/log.js"
import { ServerMetrics } from "../../observability/metrics.js"
import { batchingOf, ModelRegistry, RegisterRequest, type ModelRecord } from "../../registry/registry.js"
import { resolveSource } from "../../registry/sources.js"
import { sourceRulesOf } from "../../registry/source-rules.js"
import { VModels } from "../../registry/vmodels.js"
import { ServerState } from "../../serving/server-state.js"
import { Serving } from "../../serving/infer.js"
import { ModelRuntimes } from "../../runtimes/index.js"
import { errorBody, httpErrorOf, retryAfterSeconds } from "./errors.js"
import { principalOf } from "../../tenancy/http-auth.js"
import { type Principal, Tenants } from "../../tenancy/tenants.js"
import { ADMIN_TENANT } from "../../tenancy/tenants-file.js"
import { readBody } from "./read-body.js"
import { jsonDeeperThan } from "../kserve-v2/json-bigint.js"
import { errorJson } from "../../observability/request-trace.js"

/** The id the HTTP entry settled on (it writes it into the request's headers). */
const requestIdHere = Effect.map(HttpServerRequest.HttpServerRequest, (req) => req.headers["x-request-id"])

/**
 * The control plane (ModelMesh's management API as REST JSON) on @effect/platform's router:
 * not on the hit path, so it gets Schema-validated bodies and Effect error handling.
 *
 *   POST   /v1/models                   register {id, uri, format?, tenant?, labels?, pinned?, minCopies?, loadNow?, sync?, sha256?, sizeBytes?};
 *                                       loadNow/pinned/minCopies load a copy here (cluster mode: claimed first,
 *                                       as POST /v1/models/:id/load; a refusal leaves the model registered)
 *   GET    /v1/models                   list statuses
 *   GET    /v1/models/:id               status (NOT_LOADED | LOADING | LOADED | LOADING_FAILED, size, lastUsed, errors);
 *                                       cluster mode adds copies [{instanceId, status, since}] (cluster/copy-status.ts)
 *   DELETE /v1/models/:id               unregister (unloads after in-flight requests)
 *   POST   /v1/models/:id/load          ensureLoaded {sync?}; cluster mode: a copy here, claimed in etcd
 *                                       first (409 when the model has its maxCopies elsewhere)
 *   POST   /v1/models/:id/unload        unload now (after in-flight requests); cluster mode: drops this
 *                                       instance's copy entry at once
 *   GET    /v1/vmodels                  list vmodels
 *   PUT    /v1/vmodels/:id              set {target, sync?}: switches once target is loaded
 *   GET    /v1/vmodels/:id              vmodel status
 *   DELETE /v1/vmodels/:id              delete the alias
 *   GET    /metrics                     Prometheus
 *
 * Tenancy: a tenant sees and manages only its own models and the vmodels pointing at them;
 * anything else answers exactly as a missing id does. Ids stay one namespace: registering an id
 * someone else holds is a 409 that does not say who. The admin manages everything.
 */

const formatIssues = (e: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(e)
    .map((i) => `${i.path.map(String).join(".") || "body"}: ${i._tag === "Unexpected" ? "unknown field" : i.message}`)
    .join("; ")

/** How deep a control-plane body may nest (its Schemas and their error messages recurse). */
const MAX_CONTROL_DEPTH = 64

/** The request body as text, at most `limit` bytes (413 beyond, naming the flag). */
const bodyText = (limit: number) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (req) => {
    const source = req.source
    if (!(source instanceof IncomingMessage)) return Effect.mapError(req.text, (e) => new BadRequest({ message: `could not read the request body: ${e.message}` }))
    return Effect.async<string, BadRequest | PayloadTooLarge | Overloaded>((resume) =>
      readBody(source, limit, {
        body: (err, body) => {
          if (err instanceof PayloadTooLarge) {
            resume(Effect.fail(new PayloadTooLarge({ message: `control-plane request body exceeds the limit of ${limit} bytes (--max-control-body-size)` })))
          } else if (err) resume(Effect.fail(err))
          else resume(Effect.succeed(body!.toString("utf8")))
        }
      })
    )
  })

/** The JSON body decoded with `schema`; every problem is a 400 naming the field. */
const bodyOf = <A, I>(limit: number, schema: Schema.Schema<A, I>, emptyAs?: unknown) =>
  Effect.gen(function* () {
    const text = yield* bodyText(limit)
    let raw: unknown = emptyAs
    if (text.trim().length > 0) {
      if (jsonDeeperThan(text, MAX_CONTROL_DEPTH)) {
        return yield* new BadRequest({ message: `request body is nested deeper than ${MAX_CONTROL_DEPTH} levels` })
      }
      try {
        raw = JSON.parse(text)
      } catch (e) {
        return yield* new BadRequest({ message: `malformed JSON in request body: ${messageOf(e)}` })
      }
    }
    if (raw === undefined) return yield* new BadRequest({ message: "request body is empty; expected a JSON object" })
    const decoded = Schema.decodeUnknownEither(schema, { onExcessProperty: "error", errors: "all" })(raw)
    if (Either.isLeft(decoded)) return yield* new BadRequest({ message: `invalid request: ${formatIssues(decoded.left)}` })
    return decoded.right
  })

const idParam = Effect.map(HttpRouter.params, (p) => p.id ?? "")

const json = (value: unknown, status = 200) => HttpServerResponse.unsafeJson(value, { status })

const LoadBody = Schema.Struct({ sync: Schema.optional(Schema.Boolean) })
const VModelBody = Schema.Struct({ target: Schema.String, sync: Schema.optional(Schema.Boolean) })

/** ONNX is the only runtime today, so it is the default format whatever the file is called. */
const DEFAULT_FORMAT = "onnx"

export const makeControlPlane = Effect.gen(function* () {
  const manager = yield* ModelManager
  const serving = yield* Serving
  const state = yield* ServerState
  // Cluster mode adds where the copies are (ModelMesh's instanceIds, with their state).
  const statusWithCopies = (e: Parameters<typeof manager.status>[0]) => {
    const node = state.cluster
    return node === undefined ? manager.status(e) : { ...manager.status(e), copies: node.copies(e.id) }
  }
  const registry = yield* ModelRegistry
  const vmodels = yield* VModels
  const metrics = yield* ServerMetrics
  const config = yield* Config
  const runtimes = yield* ModelRuntimes
  const log = yield* Log
  const downloadDir = join(config.dataDir, "downloads")
  // A model root that does not exist is a start-up error naming its flag.
  const sourceRules = yield* Effect.orDie(Effect.tryPromise({ try: () => sourceRulesOf(config), catch: (e) => e }))
  const tenants = yield* Tenants
  const caller = Effect.map(HttpServerRequest.HttpServerRequest, (req) => principalOf(NodeHttpServerRequest.toIncomingMessage(req), tenants))
  /** Whether the caller sees the model `id` (registered and its own, or the caller is the admin). */
  const seesModel = (p: Principal, id: string): boolean => {
    const r = registry.get(id)
    return r !== undefined && p.sees(r.tenant)
  }
  const seesVModel = (p: Principal, id: string): boolean => {
    const v = registry.vmodel(id)
    return v !== undefined && (p.isAdmin || (seesModel(p, v.active) && seesModel(p, v.target)))
  }
  const vmodelNotFound = (id: string) => new ModelNotFound({ message: `vmodel "${id}" does not exist` })

  const entryOr404 = (id: string) =>
    Effect.flatMap(caller, (p) => {
      const e = manager.lookup(id)
      return e && p.sees(e.record.tenant) ? Effect.succeed(e) : Effect.fail(new ModelNotFound({ message: `model "${id}" is not registered` }))
    })

  const register = Effect.gen(function* () {
    const p = yield* caller
    const body = yield* bodyOf(config.maxControlBodySize, RegisterRequest)
    if (registry.get(body.id)) return yield* new Conflict({ message: `model "${body.id}" is already registered` })
    if (registry.vmodel(body.id)) return yield* new Conflict({ message: `"${body.id}" is already a vmodel` })
    const format = body.format ?? DEFAULT_FORMAT
    const runtime = runtimes.runtimeFor(format)
    if (runtime === undefined) {
      return yield* new BadRequest({ message: `format "${format}" is not supported (this server loads: ${runtimes.formats.join(", ")})` })
    }
    const t0 = performance.now()
    const path = yield* Effect.tryPromise({ try: () => resolveSource(body, downloadDir, sourceRules), catch: (e) => e })
    if (/^https?:/i.test(body.uri)) metrics.downloadDuration.observe((performance.now() - t0) / 1000)
    const batching = batchingOf(body)
    const record: ModelRecord = {
      id: body.id,
      format,
      uri: body.uri,
      path,
      source: "api",
      // A tenant's registrations are its own whatever the body says; the admin may register for anyone.
      tenant: p.isAdmin ? (body.tenant ?? ADMIN_TENANT) : p.tenantId,
      labels: body.labels ?? {},
      pinned: body.pinned ?? false,
      minCopies: body.minCopies ?? 0,
      maxCopies: body.maxCopies ?? 1,
      ...(body.sha256 !== undefined ? { sha256: body.sha256.toLowerCase() } : {}),
      ...(body.sizeBytes !== undefined ? { sizeBytes: body.sizeBytes } : {}),
      ...(batching !== undefined ? { batching } : {}),
      ...(body.warmup !== undefined ? { warmup: body.warmup } : {}),
      registeredAt: Date.now()
    }
    yield* Effect.tryPromise({ try: () => registry.add(record), catch: (e) => e })
    const entry = manager.register(record)
    log.info("model registered", { model: record.id, uri: record.uri, loadNow: body.loadNow ?? false })
    if (body.loadNow || record.pinned || record.minCopies > 0) {
      // Cluster mode: the first copy here, claimed like any explicit load. A refused claim (the
      // model got its copies elsewhere meanwhile) or a failed load leaves the registration
      // standing: the model is registered either way, and its status says where it is.
      const { loaded } = yield* Effect.promise(() =>
        serving.startLoad(entry, body.sync === true).catch((err: unknown) => {
          log.info("model registered; not loaded here", { model: record.id, reason: messageOf(err) })
          return { loaded: Promise.resolve() }
        })
      )
      if (body.sync) yield* Effect.promise(() => loaded.catch(() => undefined))
      else loaded.catch(() => undefined)
    }
    return json(statusWithCopies(entry), 201)
  })

  const unregister = Effect.gen(function* () {
    const id = yield* idParam
    const p = yield* caller
    const r = registry.get(id)
    if (!r || !p.sees(r.tenant)) return yield* new ModelNotFound({ message: `model "${id}" is not registered` })
    if (r.source === "dir") {
      return yield* new Conflict({ message: `model "${id}" comes from the models directory; remove its file there instead` })
    }
    yield* Effect.tryPromise({ try: () => registry.remove(id), catch: (e) => e })
    yield* Effect.promise(() => manager.unregister(id))
    log.info("model unregistered", { model: id })
    return json({ id, status: "NOT_FOUND" })
  })

  const ensureLoaded = Effect.gen(function* () {
    const e = yield* Effect.flatMap(idParam, entryOr404)
    const body = yield* bodyOf(config.maxControlBodySize, LoadBody, {})
    // cluster mode: a copy here, claimed first (409 when the model has its maxCopies elsewhere)
    const { loaded } = yield* Effect.tryPromise({ try: () => serving.startLoad(e, body.sync === true), catch: (err) => err })
    if (body.sync) yield* Effect.tryPromise({ try: () => loaded, catch: (err) => err })
    else loaded.catch(() => undefined)
    return json(statusWithCopies(e))
  })

  const unload = Effect.gen(function* () {
    const e = yield* Effect.flatMap(idParam, entryOr404)
    // cluster mode: the copy's entry in the registry goes with it
    yield* Effect.promise(() => serving.unload(e))
    return json(statusWithCopies(e))
  })

  const setVModel = Effect.gen(function* () {
    const id = yield* idParam
    const p = yield* caller
    const body = yield* bodyOf(config.maxControlBodySize, VModelBody)
    if (registry.get(id)) return yield* new Conflict({ message: `"${id}" is a model id; a vmodel needs its own name` })
    if (registry.vmodel(id) && !seesVModel(p, id)) return yield* new Conflict({ message: `vmodel id "${id}" is already taken` })
    if (!p.isAdmin && !seesModel(p, body.target)) return yield* new ModelNotFound({ message: `model "${body.target}" is not registered` })
    const opts = body.sync !== undefined ? { sync: body.sync } : {}
    return json(yield* Effect.tryPromise({ try: () => vmodels.set(id, body.target, opts), catch: (e) => e }))
  })

  const router = HttpRouter.empty.pipe(
    HttpRouter.post("/v1/models", register),
    HttpRouter.get(
      "/v1/models",
      // In cluster mode each model lists its copies, as GET /v1/models/{id} does.
      Effect.map(caller, (p) => json([...manager.all()].filter((e) => p.sees(e.record.tenant)).map(statusWithCopies)))
    ),
    HttpRouter.get("/v1/models/:id", Effect.map(Effect.flatMap(idParam, entryOr404), (e) => json(statusWithCopies(e)))),
    HttpRouter.del("/v1/models/:id", unregister),
    HttpRouter.post("/v1/models/:id/load", ensureLoaded),
    HttpRouter.post("/v1/models/:id/unload", unload),
    HttpRouter.get("/v1/vmodels", Effect.map(caller, (p) => json(vmodels.list().filter((v) => seesVModel(p, v.id))))),
    HttpRouter.get(
      "/v1/vmodels/:id",
      Effect.flatMap(Effect.all([idParam, caller]), ([id, p]) =>
        seesVModel(p, id) ? Effect.try({ try: () => json(vmodels.status(id)), catch: (e) => e }) : Effect.fail(vmodelNotFound(id))
      )
    ),
    HttpRouter.put("/v1/vmodels/:id", setVModel),
    HttpRouter.del(
      "/v1/vmodels/:id",
      Effect.flatMap(Effect.all([idParam, caller]), ([id, p]) =>
        registry.vmodel(id) !== undefined && !seesVModel(p, id)
          ? Effect.fail(vmodelNotFound(id))
          : Effect.map(Effect.tryPromise({ try: () => vmodels.remove(id), catch: (e) => e }), () => json({ id, status: "NOT_FOUND" }))
      )
    ),
    HttpRouter.get(
      "/metrics",
      Effect.map(Effect.promise(() => metrics.text()), (text) => HttpServerResponse.text(text, { contentType: metrics.registry.contentType }))
    )
  )

  const app = router.pipe(
    Effect.catchIf(
      (e): e is HttpServerError.RouteNotFound => e instanceof HttpServerError.RouteNotFound,
      () => Effect.map(requestIdHere, (requestId) => HttpServerResponse.text(errorJson("no such endpoint", requestId), { status: 404, contentType: "application/json" }))
    ),
    Effect.catchAll((err: unknown) =>
      Effect.map(requestIdHere, (requestId) => {
        const h = httpErrorOf(err)
        if (isServerFault(kindOf(err))) log.error("control plane request failed", { requestId, error: messageOf(err) })
        const headers: Record<string, string> = h.retryAfterMs !== undefined ? { "retry-after": String(retryAfterSeconds(h.retryAfterMs)) } : {}
        return HttpServerResponse.text(errorBody(h, requestId), { status: h.status, contentType: "application/json", headers })
      })
    )
  )

  const handler: (req: IncomingMessage, res: ServerResponse) => void = yield* NodeHttpServer.makeHandler(app)
  return handler
})
