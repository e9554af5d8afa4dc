import { Effect, Layer } from "effect"
import type { ForwardContext, ForwardMode, ForwardResult, RefusalReason } from "../cluster/forwarder.js"
import type { LocalResult, MeshIo, MeshOutcome } from "../cluster/mesh.js"
import type { InstanceRecord } from "../cluster/records.js"
import { BadRequest, CopyGone, isServerFault, kindOf, LoadFailed, messageOf, ModelNotFound, ModelTooLarge, Unavailable } from "../errors.js"
import type { ModelEntry, ModelStatus } from "../instance/model-entry.js"
import { ModelManager } from "../instance/model-manager.js"
import { Config } from "../config/config.js"
import { Log } from "../observability/log.js"
import { SPAN_KIND, Spans, type SpanBuffer } from "../observability/spans.js"
import { childSpan, nowMs, type TraceContext } from "../observability/trace-context.js"
import { ServerMetrics, type Transport } from "../observability/metrics.js"
import { VModels } from "../registry/vmodels.js"
import { ModelRuntimes } from "../runtimes/index.js"
import type { LoadedModel } from "../runtimes/runtime.js"
import type { Tensor, TensorMeta } from "../tensor.js"
import type { InferRequest } from "../transport/kserve-v2/infer-request.js"
import { repositoryIndex, type RepositoryIndexEntry } from "./repository-index.js"
import { RequestMetrics } from "./request-metrics.js"
import { batchOf, ModelStats, tritonStatistics, type RequestTimes, type TritonModelStatistics } from "./model-stats.js"
import { tritonModelConfig, type TritonModelConfig } from "./model-config.js"
import { MODEL_VERSION } from "./server-state.js"
import { ServiceTag } from "../service-tag.js"
import type { Principal, TenantLimiter } from "../tenancy/tenants.js"

/**
 * The one infer use case both transports call, and the model questions around it (metadata,
 * readiness, repository). A request goes:
 *
 *   transport: parse the address ─▶ resolve (vmodel → model; unknown name or version → not found)
 *     ─▶ [REST: read the body] ─▶ infer: where to serve ─▶ here: acquire a slot (hit: synchronous
 *     tryAcquire; miss: load and wait) ─▶ transport.decode ─▶ runtime ─▶ transport.reply
 *
 * "Where to serve" is the seam for cluster mode: today every request is served here; a
 * forwarder slots in at the top of `infer`, before the slot is taken, and sends the call's raw
 * request to a holder the core routing policy picks when this instance holds no loaded copy.
 * Tenant checks sit here too, once for both transports: a model is visible only to its tenant
 * and the admin (another tenant's model answers exactly like a missing one), and a tenant's
 * request limits (in flight, requests per second) are taken at the top of `infer` and given
 * back when the request is answered, whichever way (served, failed, forwarded).
 *
 * The hit path stays plain synchronous code with the transport's per-request state passed
 * through (no Effect, no allocation beyond the transport's own, one clock read at the end):
 * the REST route's throughput against a bare node:http server depends on it
 * (transport/http/data-plane.ts).
 */

/** How one transport speaks to the use case; one object per transport, `C` its per-request state. */
export interface InferTransport<C> {
  /** the API the call came in on (the metrics' transport label) */
  readonly transport: Transport
  /** The request decoded for the model's inputs (throws InvalidRequest / BadRequest). */
  decode(call: C, inputs: ReadonlyArray<TensorMeta>): InferRequest
  /** Encode and send the outputs (throws when they cannot be encoded; nothing was sent then). */
  reply(call: C, outputs: Tensor[], request: InferRequest): void
  /** Send `err` as this transport's error answer. */
  fail(call: C, err: unknown): void
  /** Cluster mode: the forwarding context the call arrived with (hops, instances tried, mode). */
  context?(call: C): ForwardContext
  /** Cluster mode: send the call's raw request to `to` and, unless it refuses, pass its answer on. */
  forward?(call: C, to: InstanceRecord, mode: ForwardMode, ctx: ForwardContext): Promise<ForwardResult>
  /** Cluster mode: tell the instance that forwarded the call why this one did not serve it. */
  refuse?(call: C, refusal: RefusalReason, message: string): void
  /** The request id and trace ids of the call, for the log lines about it. */
  logFields?(call: C): Record<string, unknown>
  /** The call's span on this hop, when the request is traced. */
  trace?(call: C): TraceContext | undefined
}

/** Cluster mode's request path (cluster/mesh.ts): serve here, or forward to where the model is. */
export interface ClusterPath {
  serve(modelId: string, ctx: ForwardContext, io: MeshIo): Promise<MeshOutcome>
  /** an explicit load here: claims the copy first (cluster/explicit-copies.ts); see Serving.startLoad */
  load(e: ModelEntry, urgent: boolean): Promise<LoadStarted>
  /** an explicit unload here: the copy's entry in the registry goes with it */
  unload(e: ModelEntry): Promise<void>
  /** make `e.io` known: a claimed copy here, or a holder's answer (cluster/peer-io.ts) */
  describe(e: ModelEntry): Promise<void>
}

/** An explicit load admitted on this instance: `loaded` settles when the load does. */
export interface LoadStarted {
  readonly loaded: Promise<void>
}

export interface ModelMetadata {
  readonly name: string
  readonly versions: ReadonlyArray<string>
  readonly platform: string
  readonly inputs: ReadonlyArray<TensorMeta>
  readonly outputs: ReadonlyArray<TensorMeta>
}

const tensorMeta = (m: TensorMeta): TensorMeta => ({ name: m.name, datatype: m.datatype, shape: [...m.shape] })

/** Its own service tag: `yield* Serving` in Effect code. */
export class Serving extends ServiceTag("meshkit/server/Serving")<Serving>() {
  private readonly requests: RequestMetrics
  /** Triton-style per-model statistics (./model-stats.ts) */
  readonly stats = new ModelStats()
  /** set in cluster mode: a request for a model not loaded here goes through it */
  private cluster: ClusterPath | undefined = undefined
  /**
   * Cluster mode from start-up until the node has joined (its listeners accept before that, and
   * the transports forward only once it has): a request that would load here unclaimed is
   * answered 503 (retry) instead of loading a copy the registry would not list; so is an
   * explicit load before the mesh is in place.
   */
  joining = false
  private served: ((e: ModelEntry) => void) | undefined = undefined
  /** TEST ONLY (--debug-delay-ms): wait this long before each infer answer */
  replyDelayMs = 0
  /** set when span export is on: a traced request that waits for a load records a load span */
  spans: SpanBuffer | undefined = undefined

  constructor(
    private readonly manager: ModelManager,
    private readonly vmodels: VModels,
    private readonly runtimes: ModelRuntimes,
    metrics: ServerMetrics,
    private readonly log: Log
  ) {
    super()
    this.requests = new RequestMetrics(metrics)
  }

  /** Called for every request served here (cluster mode counts per-model use for scaling). */
  onServed(hook: (e: ModelEntry) => void): void {
    this.served = hook
  }

  /** Cluster mode: misses go through the mesh (serve here or forward), see cluster/mesh.ts. */
  useCluster(path: ClusterPath): void {
    this.cluster = path
  }

  /** Cluster mode: the node is in place (the transports forward from now on); see `joining`. */
  joined(): void {
    this.joining = false
  }

  private notJoinedYet(): Unavailable {
    return new Unavailable({ message: "this instance is joining the cluster; retry shortly", retryAfterMs: 1000 })
  }

  // ---- resolving a name ---------------------------------------------------------------------

  /**
   * The model a name addresses (a vmodel resolves to its active model), if registered and
   * visible to `p` (another tenant's model is undefined, as a missing one).
   */
  resolve(name: string, p: Principal): ModelEntry | undefined {
    const e = this.manager.lookup(this.vmodels.resolve(name) ?? name)
    return e === undefined || p.sees(e.record.tenant) ? e : undefined
  }

  /** Like `resolve`, with the version checked; throws ModelNotFound / BadRequest. */
  lookup(name: string, version: string | undefined, p: Principal): ModelEntry {
    if (version !== undefined && version !== "" && version !== MODEL_VERSION) {
      throw new ModelNotFound({ message: `model "${name}" has no version ${JSON.stringify(version)} (only ${MODEL_VERSION})` })
    }
    if (name === "") throw new BadRequest({ message: "model name is required" })
    const e = this.resolve(name, p)
    if (e === undefined) throw notFound(name)
    return e
  }

  // ---- infer --------------------------------------------------------------------------------

  /**
   * A request for `e` has arrived and its body is still on the wire: start loading a cold model
   * now, so the load overlaps the body's transfer and decoding (a large tensor takes as long to
   * receive as a small model takes to load). The request itself then waits on the same
   * single-flight load; a load that fails is remembered and answered to it as before. Not in
   * cluster mode (the mesh decides where a cold model loads) and not for a tenant under limits
   * (a request the limiter refuses must not load anything).
   */
  loadOnArrival(e: ModelEntry, p: Principal): void {
    if (this.cluster !== undefined || this.joining || p.tenant?.limited === true || p.forwarded) return
    this.manager.loadOnArrival(e)
  }

  /**
   * Serve one inference on `e` (resolved for `p`), answering through `t`; `t0` is
   * performance.now() at arrival. The tenant's limits apply to requests from clients; a
   * request a peer forwarded was counted at the instance the client called.
   */
  infer<C>(t: InferTransport<C>, call: C, e: ModelEntry, t0: number, p: Principal): void {
    let lim: TenantLimiter | undefined = p.tenant
    if (lim !== undefined) {
      if (p.forwarded || !lim.limited) lim = undefined
      else {
        const refused = lim.admit(t0)
        if (refused !== undefined) {
          t.fail(call, refused)
          this.rejected(e, refused, t0, t.transport, t.logFields?.(call))
          return
        }
      }
    }
    // Where to serve: a loaded copy here is always the answer (the hit path, no cluster look-up).
    const loaded = this.manager.tryAcquire(e)
    if (loaded !== undefined) {
      this.run(t, call, e, loaded, t0, lim)
      return
    }
    if (this.cluster !== undefined && t.forward !== undefined) {
      this.viaCluster(this.cluster, t, call, e, t0, lim)
      return
    }
    if (this.joining) {
      this.fail(t, call, e, this.notJoinedYet(), t0, lim)
      return
    }
    this.acquire(t, call, e).then(
      (m) => this.run(t, call, e, m, t0, lim),
      (err) => this.fail(t, call, e, err, t0, lim)
    )
  }

  /** The miss path's wait for a slot (loading the model if needed), as a span of a traced request. */
  private acquire<C>(t: InferTransport<C>, call: C, e: ModelEntry): Promise<LoadedModel> {
    const parent = this.spans !== undefined && t.trace !== undefined ? t.trace(call) : undefined
    if (parent === undefined) return this.manager.acquire(e)
    const span = childSpan(parent)
    const spans = this.spans!
    const end = (error: string | undefined) =>
      spans.record({ trace: span, name: "model load", kind: SPAN_KIND.internal, endMs: nowMs(), error, attributes: { "meshkit.model": e.id, "meshkit.loads": e.loads } })
    return this.manager.acquire(e).then(
      (m) => {
        end(undefined)
        return m
      },
      (err: unknown) => {
        end(messageOf(err))
        throw err
      }
    )
  }

  /** Cluster mode, no loaded copy here: the mesh decides between here (loading it) and a peer. */
  private viaCluster<C>(cluster: ClusterPath, t: InferTransport<C>, call: C, e: ModelEntry, t0: number, lim: TenantLimiter | undefined): void {
    const ctx = t.context!(call)
    // Served here: `run` gives the tenant's slot back; otherwise it is given back below.
    let here = false
    cluster
      .serve(e.id, ctx, {
        local: () =>
          this.serveHere(t, call, e, t0, lim).then((r) => {
            if (r.kind === "served") here = true
            return r
          }),
        forward: (to, mode, c) => t.forward!(call, to, mode, c)
      })
      .then(
        (out) => {
          if (out.kind === "done") {
            if (!here) lim?.done()
            return
          }
          if (here) return
          if (out.kind === "refuse" && t.refuse !== undefined) {
            lim?.done()
            return t.refuse(call, out.refusal, out.message)
          }
          this.fail(t, call, e, new Unavailable({ message: out.message }), t0, lim)
        },
        (err) => (here ? this.fail(t, call, e, err, t0, undefined) : this.fail(t, call, e, err, t0, lim))
      )
  }

  /**
   * Serve from this instance's cache, loading the model if needed. A load that fails, a model
   * that cannot fit here, or one that left before the request got a slot, is reported instead
   * of answered: the mesh decides again (another instance, or a claimed load here).
   */
  private serveHere<C>(t: InferTransport<C>, call: C, e: ModelEntry, t0: number, lim: TenantLimiter | undefined): Promise<LocalResult> {
    return this.acquire(t, call, e).then(
      (m): LocalResult => {
        this.run(t, call, e, m, t0, lim)
        return { kind: "served" }
      },
      (err): LocalResult => {
        if (err instanceof LoadFailed) return { kind: "load-failed", message: err.message }
        if (err instanceof ModelTooLarge) return { kind: "no-room", message: err.message }
        if (err instanceof CopyGone) return { kind: "gone", message: err.message }
        this.fail(t, call, e, err, t0, lim)
        return { kind: "served" }
      }
    )
  }

  private run<C>(t: InferTransport<C>, call: C, e: ModelEntry, m: LoadedModel, t0: number, lim: TenantLimiter | undefined): void {
    const slot = performance.now()
    let request: InferRequest
    try {
      request = t.decode(call, m.inputs)
    } catch (err) {
      this.manager.release(e)
      this.fail(t, call, e, err, t0, lim)
      return
    }
    const r = request
    if (this.served !== undefined) this.served(e)
    const run = performance.now()
    m.infer(r.inputs, r.outputs?.map((o) => o.name)).then(
      (outputs) => {
        const ran = performance.now()
        this.manager.release(e)
        // Triton's statistics: time waiting for a slot, running, answering (./model-stats.ts)
        const times = { t0, slot, run, ran, done: 0 }
        const batch = batchOf(r.inputs, m.inputs)
        if (this.replyDelayMs > 0) {
          setTimeout(() => this.answer(t, call, e, outputs, r, lim, batch, times), this.replyDelayMs)
          return
        }
        this.answer(t, call, e, outputs, r, lim, batch, times)
      },
      (err) => {
        this.manager.release(e)
        this.fail(t, call, e, err, t0, lim)
      }
    )
  }

  private answer<C>(
    t: InferTransport<C>,
    call: C,
    e: ModelEntry,
    outputs: Tensor[],
    r: InferRequest,
    lim: TenantLimiter | undefined,
    batch: number,
    times: { -readonly [K in keyof RequestTimes]: RequestTimes[K] }
  ): void {
    try {
      t.reply(call, outputs, r)
    } catch (err) {
      this.fail(t, call, e, err, times.t0, lim)
      return
    }
    lim?.done()
    times.done = this.requests.succeeded(e, times.t0, t.transport)
    this.stats.succeeded(e, batch, times)
  }

  /** Answer a failure of a request that passed the tenant's limits (`lim` gets its slot back). */
  private fail<C>(t: InferTransport<C>, call: C, e: ModelEntry, err: unknown, t0: number, lim: TenantLimiter | undefined): void {
    lim?.done()
    t.fail(call, err)
    this.rejected(e, err, t0, t.transport, t.logFields?.(call))
  }

  /**
   * Count and, for a fault on this side, log a request that failed (before the use case, too:
   * an unknown model, a body over the limit). `e` is undefined when no model was resolved.
   */
  rejected(e: ModelEntry | undefined, err: unknown, t0: number, transport: Transport, fields?: Record<string, unknown>): void {
    this.noteFailure(err, e?.id, fields)
    this.requests.failed(e, kindOf(err), t0, transport)
    if (e !== undefined) this.stats.failed(e, t0)
  }

  /** Log a failure when it is a fault on this side (a bug, a model origin failing), not the caller's. */
  noteFailure(err: unknown, model?: string, fields?: Record<string, unknown>): void {
    const kind = kindOf(err)
    if (isServerFault(kind)) this.log.error("request failed", { model, kind, error: messageOf(err), ...fields })
  }

  // ---- the questions around it ------------------------------------------------------------

  /** Whether `e` is served from memory right now. */
  isReady(e: ModelEntry): boolean {
    return this.manager.isReady(e)
  }

  statusOf(e: ModelEntry): ModelStatus {
    return this.manager.status(e).status
  }

  /**
   * Inputs and outputs are known once the model has been loaded in this process: load it if
   * needed (in cluster mode through a claim, or asked of a holder when it is at maxCopies).
   */
  metadata(e: ModelEntry, name: string): Promise<ModelMetadata> {
    const answer = (): ModelMetadata => {
      const io = e.io!
      return {
        name,
        versions: [MODEL_VERSION],
        platform: this.runtimes.runtimeFor(e.record.format)?.platform ?? e.record.format,
        inputs: io.inputs.map(tensorMeta),
        outputs: io.outputs.map(tensorMeta)
      }
    }
    if (e.io) return Promise.resolve(answer())
    if (this.joining) return Promise.reject(this.notJoinedYet())
    // cluster mode: not a copy beyond maxCopies just to describe the model
    if (this.cluster !== undefined) return this.cluster.describe(e).then(answer)
    return this.manager.ensureLoaded(e, true).then(answer)
  }

  /** Triton's model configuration (loads the model when its inputs are not known yet). */
  modelConfig(e: ModelEntry, name: string): Promise<TritonModelConfig> {
    return this.metadata(e, name).then(tritonModelConfig)
  }

  /** Triton's statistics for one model, or for every model `p` sees when `e` is undefined. */
  modelStatistics(e: ModelEntry | undefined, p: Principal, name?: string): TritonModelStatistics[] {
    if (e !== undefined) return [tritonStatistics(name ?? e.id, this.stats.counters(e))]
    const out: TritonModelStatistics[] = []
    for (const m of this.manager.all()) if (p.sees(m.record.tenant)) out.push(tritonStatistics(m.id, this.stats.counters(m)))
    return out
  }

  /** The repository index as `p` sees it: its own models only (all of them for the admin). */
  repositoryIndex(readyOnly: boolean, p: Principal): RepositoryIndexEntry[] {
    return repositoryIndex(this.manager, readyOnly, (e) => p.sees(e.record.tenant))
  }

  /**
   * An explicit load of `e` here (control plane, repository, a registration's loadNow). On one
   * server it starts at once. In cluster mode it is admitted only through a copy claim (at most
   * maxCopies; refused with Conflict otherwise, see cluster/explicit-copies.ts), so the promise
   * settles once the claim is decided, and `loaded` when the load is.
   */
  startLoad(e: ModelEntry, urgent: boolean): Promise<LoadStarted> {
    if (this.cluster !== undefined) return this.cluster.load(e, urgent)
    if (this.joining) return Promise.reject(this.notJoinedYet())
    return Promise.resolve({ loaded: this.manager.ensureLoaded(e, urgent) })
  }

  /** Repository extension: load now (a request-like wait: jumps the load queue). */
  load(e: ModelEntry): Promise<void> {
    return this.startLoad(e, true).then((s) => s.loaded)
  }

  /** An explicit unload (control plane, repository); in cluster mode the copy's entry goes too. */
  unload(e: ModelEntry): Promise<void> {
    return this.cluster !== undefined ? this.cluster.unload(e) : this.manager.unload(e)
  }
}

export const notFound = (name: string) => new ModelNotFound({ message: `model "${name}" is not registered` })

export const ServingLive = Layer.effect(
  Serving,
  Effect.gen(function* () {
    const s = new Serving(yield* ModelManager, yield* VModels, yield* ModelRuntimes, yield* ServerMetrics, yield* Log)
    const config = yield* Config
    s.replyDelayMs = config.debugDelayMs
    s.joining = config.etcd !== undefined
    const spans = yield* Spans
    if (spans.enabled) s.spans = spans
    return s
  })
)
