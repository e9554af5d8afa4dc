/**
 * This instance as a member of the cluster (`meshkit serve --etcd …`): it joins (a lease-bound
 * record, watched views of the registry and the other instances), takes part in the leader
 * election, and plugs the mesh into the serving use case, so a request for a model not loaded
 * here is forwarded to a holder or placed (cluster/mesh.ts). Timers keep the copy counts
 * (copy-keeper.ts) and the copy map honest (a copy entry for a model not held here is dropped;
 * a model loaded here is listed, within maxCopies). On shutdown it hands its models over before the listeners
 * drain, so requests during a drain neither fail nor wait for a reload.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { hostname } from "node:os"
import { buildPolicy, type InstanceViewState, Placer, policyRng } from "@meshkit/core"
import { Context, Effect, Layer, Schedule } from "effect"
import { Counter, Histogram } from "prom-client"
import { Config, type ServerConfig } from "../config/config.js"
import { messageOf } from "../errors.js"
import { ModelManager } from "../instance/model-manager.js"
import { Log } from "../observability/log.js"
import { ServerMetrics } from "../observability/metrics.js"
import { Serving } from "../serving/infer.js"
import { VModels } from "../registry/vmodels.js"
import { SERVER_VERSION, ServerState } from "../serving/server-state.js"
import { GrpcListener } from "../transport/grpc/server.js"
import { HttpListener } from "../transport/http/server.js"
import { sendError } from "../transport/http/errors.js"
import { readBody } from "../transport/http/read-body.js"
import { makeForwardedGrpc } from "../transport/grpc/forwarded.js"
import { ClusterRegistry } from "./cluster-registry.js"
import { ClusterConfig, clusterConfigLayer } from "./config.js"
import { CopyKeeper } from "./copy-keeper.js"
import { etcdStoreLayer } from "./etcd-store.js"
import type { RefusalReason } from "./forwarder.js"
import { PeerForwarder } from "./forwarder.js"
import { Spans } from "../observability/spans.js"
import { campaignForLeadership, pruneGoneCopies } from "./leader.js"
import { LocalInstance, Membership } from "./membership.js"
import { makeMeshDecider } from "./mesh-decision.js"
import { MeshView } from "./mesh-view.js"
import { Mesh } from "./mesh.js"
import { ExplicitCopies } from "./explicit-copies.js"
import { modelIoOf } from "./peer-io.js"
import type { ModelEntry, ModelIo } from "../instance/model-entry.js"
import { Unavailable } from "../errors.js"
import { ModelUse } from "./model-use.js"
import { copyStatus, type CopyStatus } from "./copy-status.js"
import type { ClusterModelRecord, InstanceRecord, InstanceStatus } from "./records.js"
import type { Principal } from "../tenancy/tenants.js"
import { Tls } from "../tenancy/tls.js"

/** A claimed copy that has not started loading this long is stale (its claimer went away). */
const STALE_CLAIM_MS = 10_000
const SWEEP_MS = 2_000
const MIN_COPIES_MS = 5_000

export interface ClusterInstanceInfo {
  readonly id: string
  readonly address: string
  readonly grpcAddress: string | undefined
  readonly capacityBytes: number
  readonly usedBytes: number
  readonly models: ReadonlyArray<string>
  readonly loading: ReadonlyArray<string>
  readonly inFlight: number
  readonly rpm: number
  readonly lruTime: number
  readonly shuttingDown: boolean
  readonly labels: Readonly<Record<string, string>>
  readonly version: string
}

export interface CopyInfo {
  readonly instanceId: string
  /** see copyStatus (./copy-status.ts) */
  readonly status: CopyStatus
  readonly since: number
}

export type CopyRequestResult = { readonly ok: true } | { readonly ok: false; readonly refusal: RefusalReason; readonly message: string }

export interface ClusterNodeApi {
  readonly selfId: string
  readonly forwarder: PeerForwarder
  /** GET /v1/cluster */
  readonly snapshot: () => { instances: ClusterInstanceInfo[]; leader: string | null; self: string; etcdConnected: boolean }
  /** the copies of a model across the cluster (GET /v1/models/{id}) */
  readonly copies: (id: string) => CopyInfo[]
  /** POST /v2/internal/grpc/infer/{model}: a gRPC ModelInfer forwarded by a peer, as its bytes */
  readonly grpcInfer: (req: IncomingMessage, res: ServerResponse, model: string, p: Principal) => void
  /** POST /v2/internal/copies/{id}: load a copy here (scale up, minCopies, a drain elsewhere) */
  readonly loadCopy: (id: string) => Promise<CopyRequestResult>
  /** POST /v2/internal/io/{id}: the model's inputs and outputs if known here (never loads) */
  readonly ioOf: (id: string) => ModelIo | undefined
}

export class ClusterNode extends Context.Tag("meshkit/server/ClusterNode")<ClusterNode, ClusterNodeApi>() {}

export const instanceIdOf = (config: ServerConfig): string => config.instanceId ?? `${hostname()}-${config.port}`

/** What cluster mode needs before the registry and the model manager: the store, the settings, the shared registry. */
export const clusterBaseLayer = (config: ServerConfig) =>
  ClusterRegistry.Default.pipe(
    Layer.provideMerge(etcdStoreLayer({ endpoints: config.etcd!.split(",").map((s) => s.trim()), timeoutMs: config.etcdTimeout })),
    Layer.provideMerge(
      clusterConfigLayer({
        instanceId: instanceIdOf(config),
        prefix: config.etcdPrefix,
        etcdTimeoutMs: config.etcdTimeout,
        leaseTtlSeconds: Math.max(2, Math.round(config.leaseTtl / 1000))
      })
    )
  )

const run = <A, E>(e: Effect.Effect<A, E>): Promise<{ ok: true; value: A } | { ok: false; error: E }> =>
  Effect.runPromise(Effect.either(e)).then((r) => (r._tag === "Right" ? { ok: true as const, value: r.right } : { ok: false as const, error: r.left }))

export const ClusterNodeLive = Layer.scoped(
  ClusterNode,
  Effect.gen(function* () {
    const config = yield* Config
    const manager = yield* ModelManager
    const serving = yield* Serving
    const vmodels = yield* VModels
    const log = yield* Log
    const state = yield* ServerState
    const metrics = yield* ServerMetrics
    const http = yield* HttpListener
    const grpc = yield* GrpcListener
    const cfg = yield* ClusterConfig
    const registry = yield* ClusterRegistry
    const selfId = cfg.instanceId
    const advertiseHost = http.host === "0.0.0.0" || http.host === "::" ? "127.0.0.1" : http.host
    const tls = yield* Tls
    const httpUrl = config.advertise ?? `${http.scheme}://${advertiseHost}:${http.port}`
    const grpcAddress = grpc.port === null ? undefined : `${advertiseHost}:${grpc.port}`
    const startedAt = Date.now()
    let leaving = false
    let leading = (): boolean => false

    const use = new ModelUse()
    serving.onServed((e) => use.record(e))

    const statusNow = (): InstanceStatus => {
      const models: string[] = []
      const loadingModels: string[] = []
      let inFlight = 0
      let lru = Infinity
      for (const e of manager.all()) {
        if (e.phase === "loaded") {
          models.push(e.id)
          if (e.lastUsed < lru) lru = e.lastUsed
        } else if (e.phase === "loading") loadingModels.push(e.id)
        inFlight += e.inFlight
      }
      return {
        httpUrl,
        ...(grpcAddress !== undefined ? { grpcAddress } : {}),
        capacityBytes: manager.capacityBytes,
        usedBytes: manager.usedBytes,
        models,
        loadingModels,
        loadSlots: config.maxConcurrentLoads,
        inFlight,
        rpm: use.instanceRpm(Date.now()),
        lruTime: lru === Infinity ? 0 : lru,
        labels: {},
        shuttingDown: leaving || state.draining,
        version: SERVER_VERSION,
        leader: leading()
      }
    }
    const selfRecord = (): InstanceRecord => ({ ...statusNow(), id: selfId, startedAt, publishedAt: Date.now() })

    const membershipCtx = yield* Layer.build(Membership.Default.pipe(Layer.provide(Layer.succeed(LocalInstance, { status: statusNow }))))
    const membership = Context.get(membershipCtx, Membership)

    // The same policies, seeds and decision code as the simulator (core/cluster).
    const routing = buildPolicy("routing", config.routing, { rng: policyRng(config.seed, "routing") })
    const placer = new Placer<InstanceViewState>(buildPolicy("placement", config.placement, { rng: policyRng(config.seed, "placement") }))
    const scaling = config.scaling === "off" ? undefined : buildPolicy("scaling", config.scaling, { rng: policyRng(config.seed, "scaling") })
    const sizeOf = (m: ClusterModelRecord): number => {
      const e = manager.lookup(m.id)
      return e !== undefined && e.predictedBytes > 0 ? e.predictedBytes : (m.sizeBytes ?? 0)
    }
    const view = new MeshView(selfId)
    const instances = () => membership.instances()
    const decider = makeMeshDecider({ selfId, view, instances, selfStatus: selfRecord, routing, placer, sizeOf, failureMemoryMs: config.failureMemory })
    const localCopy = (id: string) => {
      const e = manager.lookup(id)
      return e?.phase === "loaded" ? "loaded" : e?.phase === "loading" ? "loading" : "absent"
    }

    const forwarded = new Counter({
      name: "meshkit_forwarded_requests_total",
      help: "requests this instance forwarded to a peer, by peer, mode (hit: to a holder; load: to the instance placement chose) and outcome",
      labelNames: ["peer", "mode", "outcome"],
      registers: [metrics.registry]
    })
    const hop = new Histogram({
      name: "meshkit_forward_duration_seconds",
      help: "time from forwarding a request to a peer until its answer came back (includes the peer's load, for load forwards)",
      labelNames: ["peer"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [metrics.registry]
    })
    const forwarder = new PeerForwarder(selfId, {
      timeoutMs: config.loadTimeout + 10_000,
      onResult: (peer, seconds) => hop.observe({ peer }, seconds),
      // Peers authenticate each other with the peer token (tenancy) and, with TLS, certificates.
      ...(config.tenants !== undefined && config.peerToken !== undefined ? { authorization: `Bearer ${config.peerToken}` } : {}),
      ...(tls !== undefined ? { tls } : {}),
      spans: yield* Spans
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => forwarder.close()))

    const mesh = new Mesh({
      selfId,
      decider,
      registry,
      localCopy,
      shuttingDown: () => leaving,
      isAlive: (id) => id === selfId || membership.isAlive(id),
      onForward: (to, mode, r) => forwarded.inc({ peer: to, mode, outcome: r.kind === "answered" ? "answered" : r.refusal ?? "failed" }),
      warn: (message, fields) => log.warn(message, fields)
    })
    /**
     * The model's inputs and outputs (metadata, Triton config): a claimed copy here within
     * maxCopies; at maxCopies elsewhere, from a holder that has it loaded (cluster/peer-io.ts).
     */
    const describe = async (e: ModelEntry): Promise<void> => {
      await explicit.loadedSomewhere(e, config.loadTimeout)
      if (e.io !== undefined) return
      const reasons: string[] = []
      for (const id of Object.keys(registry.model(e.id)?.instanceIds ?? {})) {
        const peer = id === selfId ? undefined : membership.instance(id)
        if (peer === undefined || !peer.models.includes(e.id)) continue
        try {
          const r = await forwarder.postForText(peer.httpUrl, `/v2/internal/io/${encodeURIComponent(e.id)}`, { "content-type": "application/json", "x-meshkit-from": selfId }, "{}", 5_000)
          const io = r.status === 200 ? modelIoOf(r.text) : undefined
          if (io !== undefined) {
            e.io = io
            return
          }
          reasons.push(`${id}: ${r.status}`)
        } catch (err) {
          reasons.push(`${id}: ${messageOf(err)}`)
        }
      }
      throw new Unavailable({ message: `the inputs and outputs of "${e.id}" are known where it is loaded, and no copy could tell (${reasons.join("; ") || "none loaded"})`, retryAfterMs: 1000 })
    }
    // Loads asked for by name (control plane, repository) claim their copy too, within maxCopies.
    const explicit = new ExplicitCopies({
      selfId,
      registry,
      manager,
      whileClaiming: (id, f) => mesh.whileClaiming(id, f),
      claimUnderway: (id) => mesh.claimUnderway(id),
      localCopy,
      isAlive: (id) => membership.isAlive(id),
      shuttingDown: () => leaving || state.draining,
      loadedElsewhere: (id) => Object.keys(registry.model(id)?.instanceIds ?? {}).some((i) => i !== selfId && membership.instance(i)?.models.includes(id) === true),
      warn: (message, fields) => log.warn(message, fields)
    })
    // A vmodel's target: a claimed copy here, or a copy loaded elsewhere (explicit-copies.ts).
    vmodels.loadTargetsWith((e) => explicit.loadedSomewhere(e, config.loadTimeout))
    serving.useCluster({ serve: (id, ctx, io) => mesh.serve(id, ctx, io), load: (e, urgent) => explicit.load(e, urgent), unload: (e) => explicit.unload(e), describe: (e) => describe(e) })
    // A model that left between a request's load and its slot is reloaded only through the
    // mesh, which claims the copy first (the manager would reload it unlisted); a kept model
    // whose runtime came back is reloaded here only if its claim fits within maxCopies (its
    // entry still listed, or fewer copies elsewhere), else its copies elsewhere stand for it.
    manager.leaveReloadsToCaller((e) => {
      void explicit.claimAndLoad(e, false).then((r) => {
        if (r.ok) r.loaded.catch(() => undefined)
        else log.info("runtime back: a kept model stays where its copies are", { model: e.id, reason: r.message })
      })
    })

    const requestCopy = async (to: InstanceRecord, model: string, reason: string): Promise<boolean> => {
      try {
        const status = await forwarder.post(
          to.httpUrl,
          `/v2/internal/copies/${encodeURIComponent(model)}`,
          { "content-type": "application/json", "x-meshkit-from": selfId },
          JSON.stringify({ reason }),
          config.loadTimeout + 5_000
        )
        return status === 200
      } catch (e) {
        log.warn("copy request failed", { model, to: to.id, error: messageOf(e) })
        return false
      }
    }
    const dropLocalCopy = async (model: string): Promise<void> => {
      await run(registry.releaseCopy(model, selfId))
      const e = manager.lookup(model)
      if (e !== undefined) await manager.unload(e).catch(() => undefined)
    }
    const keeper = new CopyKeeper({
      selfId,
      view,
      placer,
      scaling,
      instances,
      selfStatus: statusNow,
      models: () => registry.allModels(),
      model: (id) => registry.model(id),
      localUse: () => use.loadedUse(manager, Date.now()),
      sizeOf,
      requestCopy,
      dropLocalCopy,
      log: (message, fields) => log.info(message, fields),
      idleBeforeRemoveMs: 30_000
    })

    /**
     * The copy map agrees with this instance: entries for models not here go; a loaded model
     * not listed (its entry was pruned while this instance looked gone, or dropped by a
     * release that raced its load) is listed again, within maxCopies like any claim. When the
     * model has its maxCopies listed elsewhere meanwhile, this unlisted copy is surplus: it is
     * unloaded (after its requests in flight) rather than kept where placement, routing and
     * scaling cannot see it; requests here then go to the listed copies.
     */
    const sweep = Effect.promise(async () => {
      if (!membership.table.connected) return
      const now = Date.now()
      for (const m of [...registry.allModels()]) {
        const since = m.instanceIds[selfId]
        const here = localCopy(m.id)
        if (since !== undefined && here === "absent" && now - since > STALE_CLAIM_MS) await run(registry.releaseCopy(m.id, selfId, { onlyIfSince: since }))
        else if (since === undefined && here === "loaded" && !leaving && !mesh.claimUnderway(m.id)) {
          const claim = await run(registry.claimCopy(m.id, selfId, now, { whenFewerThan: Math.max(1, m.maxCopies), isAlive: (i) => i === selfId || membership.isAlive(i) }))
          const e = manager.lookup(m.id)
          if (claim.ok && !claim.value.claimed && e !== undefined && e.phase === "loaded") {
            log.warn("copy-map sweep: an unlisted copy beyond maxCopies; unloading it", { model: m.id, maxCopies: m.maxCopies, listed: Object.keys(claim.value.record.instanceIds) })
            void manager.unload(e).catch(() => undefined)
          }
        }
      }
    })
    yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(SWEEP_MS)))
    if (scaling !== undefined) {
      yield* Effect.forkScoped(Effect.repeat(Effect.promise(() => keeper.scaleTick()), Schedule.spaced(scaling.intervalMs)))
    }

    const chores = Effect.all(
      [
        pruneGoneCopies({ graceMs: cfg.pruneGraceMs, intervalMs: cfg.pruneIntervalMs }),
        Effect.repeat(Effect.promise(() => keeper.keepMinCopies()), Schedule.spaced(MIN_COPIES_MS))
      ],
      { concurrency: "unbounded", discard: true }
    ).pipe(Effect.provideService(ClusterRegistry, registry), Effect.provideService(Membership, membership))
    const leadership = yield* campaignForLeadership(chores as Effect.Effect<void>)
    leading = leadership.isLeader

    // Shutdown, before the listeners drain: hand over, then stop being listed as a holder.
    state.beforeDrain.push(async () => {
      leaving = true
      await run(membership.publishNow)
      const deadline = Date.now() + Math.max(1_000, config.drainTimeout * 0.8)
      const failed = await keeper.handOver(deadline)
      if (failed.length > 0) log.warn("drain: could not hand over every model", { models: failed })
      for (const m of [...registry.allModels()]) if (m.instanceIds[selfId] !== undefined) await run(registry.releaseCopy(m.id, selfId))
      // Let the others' watches see the copy map before requests stop being accepted here.
      await new Promise((r) => setTimeout(r, 300))
      log.info("drain: models handed over", { failed: failed.length })
    })

    const info = (r: InstanceRecord): ClusterInstanceInfo => ({
      id: r.id,
      address: r.httpUrl,
      grpcAddress: r.grpcAddress,
      capacityBytes: r.capacityBytes,
      usedBytes: r.usedBytes,
      models: r.models,
      loading: r.loadingModels,
      inFlight: r.inFlight,
      rpm: r.rpm,
      lruTime: r.lruTime,
      shuttingDown: r.shuttingDown,
      labels: r.labels,
      version: r.version
    })

    // Models this instance found (its --models DIR, its data dir) join the shared registry; the
    // same model registered by several instances is one record.
    for (const e of [...manager.all()]) {
      yield* registry.register(e.record).pipe(
        Effect.catchAll((err) => Effect.sync(() => log.warn("cluster: cannot register a local model in the shared registry", { model: e.id, error: messageOf(err) })))
      )
    }

    log.info("cluster: joined", { instance: selfId, address: httpUrl, etcd: config.etcd, placement: placer.policy.name, routing: routing.name, scaling: scaling?.name ?? "off" })

    const grpcInfer = makeForwardedGrpc({ serving, forwarder, maxBodyBytes: config.maxBodySize, readBody, sendError })
    const api: ClusterNodeApi = {
      selfId,
      forwarder,
      grpcInfer,
      snapshot: () => {
        const recs = [...membership.instances()].filter((r) => r.id !== selfId)
        const all = [...recs, selfRecord()].sort((a, b) => (a.id < b.id ? -1 : 1))
        const leader = all.find((r) => r.leader === true)?.id ?? null
        return { instances: all.map(info), leader, self: selfId, etcdConnected: membership.table.connected }
      },
      copies: (id) => {
        const m = registry.model(id)
        if (m === undefined) return []
        return Object.entries(m.instanceIds).map(([iid, since]) => {
          // this instance answers from its live state, claims in flight included
          const self = iid === selfId
          const r = self ? selfRecord() : membership.instance(iid)
          return { instanceId: iid, status: copyStatus(id, since, r, self && mesh.claimUnderway(id)), since }
        })
      },
      ioOf: (id) => manager.lookup(id)?.io,
      loadCopy: async (id) => {
        const e = manager.lookup(id)
        if (e === undefined || registry.model(id) === undefined) return { ok: false, refusal: "not-here", message: `model "${id}" is not registered` }
        const r = await explicit.claimAndLoad(e, false)
        if (!r.ok) return { ok: false, refusal: r.refusal === "unavailable" ? "no-room" : r.refusal, message: r.message }
        try {
          await r.loaded
          return { ok: true }
        } catch (err) {
          return { ok: false, refusal: "load-failed", message: messageOf(err) }
        }
      }
    }
    state.cluster = api
    // Only now do the transports forward: until here a request that would load was refused.
    serving.joined()
    // Transitions under way when the cluster last stopped go on, each target loaded as above.
    vmodels.resume()
    yield* Effect.addFinalizer(() => Effect.sync(() => (state.cluster = undefined)))
    return api
  })
)
