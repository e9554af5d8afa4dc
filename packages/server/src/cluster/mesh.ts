/**
 * The request path across instances: runs the serve-here-or-forward decision (./mesh-decision.ts)
 * until the request is answered, refused or out of options. The transport supplies the two
 * ways to act (serve locally; forward its raw request to a peer), so REST and gRPC share one
 * loop and one set of bounds:
 *
 *   - at most MAX_ATTEMPTS decisions per request (ModelMesh: 8 iterations);
 *   - a peer that fails or refuses is excluded for this request, and so is this instance after
 *     its own load failed;
 *   - a load starts only after its copy is claimed in the registry (cluster-wide single flight:
 *     a lost first-copy claim means another instance is loading it, so the request goes there);
 *     a model that left this instance before the request got its slot is decided again, not
 *     reloaded unclaimed (the manager hands it back as "gone").
 */
import { Effect } from "effect"
import type { ClusterRegistry } from "./cluster-registry.js"
import { type ForwardContext, type ForwardMode, type ForwardResult, MAX_HOPS, type RefusalReason } from "./forwarder.js"
import type { LocalCopy, MeshDecider } from "./mesh-decision.js"
import type { ClusterModelRecord, InstanceRecord } from "./records.js"

export const MAX_ATTEMPTS = 8

export type LocalResult =
  /** the request was answered here (whatever the status) */
  | { readonly kind: "served" }
  /** the model could not be loaded here; nothing was written to the client */
  | { readonly kind: "load-failed"; readonly message: string }
  /** no room here now (everything evictable is busy); nothing was written */
  | { readonly kind: "no-room"; readonly message: string }
  /**
   * the model left this instance (evicted, unloaded) before the request got a slot; nothing
   * was written: decide again, so a reload here claims its copy first
   */
  | { readonly kind: "gone"; readonly message: string }

export interface MeshIo {
  /** serve from this instance's cache (loading the model if needed) */
  readonly local: () => Promise<LocalResult>
  readonly forward: (to: InstanceRecord, mode: ForwardMode, ctx: ForwardContext) => Promise<ForwardResult>
}

export type MeshOutcome =
  | { readonly kind: "done" }
  /** answer the sender with this refusal (it tries elsewhere) */
  | { readonly kind: "refuse"; readonly refusal: RefusalReason; readonly message: string }
  /** answer the client 503 with this reason */
  | { readonly kind: "unavailable"; readonly message: string }

export interface MeshDeps {
  readonly selfId: string
  readonly decider: MeshDecider
  readonly registry: Pick<ClusterRegistry, "claimCopy" | "releaseCopy" | "recordLoadFailure" | "model">
  readonly localCopy: (modelId: string) => LocalCopy
  readonly shuttingDown: () => boolean
  /** whether an instance is a live member (its record is there) */
  readonly isAlive: (instanceId: string) => boolean
  readonly onForward?: (to: string, mode: ForwardMode, result: ForwardResult) => void
  readonly warn: (message: string, fields: Record<string, unknown>) => void
}

const run = <A, E>(e: Effect.Effect<A, E>): Promise<{ ok: true; value: A } | { ok: false; error: E }> =>
  Effect.runPromise(Effect.either(e)).then((r) => (r._tag === "Right" ? { ok: true as const, value: r.right } : { ok: false as const, error: r.left }))

const messageOf = (e: unknown): string => (typeof e === "object" && e !== null && "message" in e ? String((e as { message: unknown }).message) : String(e))

export class Mesh {
  /**
   * Models claimed here whose load has not visibly started yet: a request forwarded here "hit
   * only" in that window joins the load instead of being refused.
   */
  private readonly claimed = new Map<string, number>()
  /** claims being written: only a "hit only" request joins those (a lost claim means no load here) */
  private readonly claiming = new Map<string, number>()

  constructor(private readonly d: MeshDeps) {}

  private count(m: Map<string, number>, id: string, delta: number): void {
    const n = (m.get(id) ?? 0) + delta
    if (n <= 0) m.delete(id)
    else m.set(id, n)
  }

  private localCopy(id: string, hitOnly: boolean): LocalCopy {
    const c = this.d.localCopy(id)
    if (c !== "absent") return c
    return this.claimed.has(id) || (hitOnly && this.claiming.has(id)) ? "loading" : "absent"
  }

  /** Whether a claim for `modelId` is being written here, or its load has not visibly started yet. */
  claimUnderway(modelId: string): boolean {
    return this.claimed.has(modelId) || this.claiming.has(modelId)
  }

  /**
   * Run a copy claim and its load made outside the request loop (a peer asked for a copy: scale
   * up, minCopies, a drain). Meanwhile a "hit only" request joins that load, and a "not here"
   * refusal leaves the fresh entry alone: without this, a hit arriving between the claim and the
   * load's start was refused, the new entry released as stale, and the sender placed another
   * copy beside the load under way.
   */
  async whileClaiming<A>(modelId: string, f: () => Promise<A>): Promise<A> {
    this.count(this.claiming, modelId, +1)
    try {
      return await f()
    } finally {
      this.count(this.claiming, modelId, -1)
    }
  }

  /** Serve one request for `modelId` (a registered model, vmodels already resolved). */
  async serve(modelId: string, ctx0: ForwardContext, io: MeshIo): Promise<MeshOutcome> {
    const d = this.d
    if (ctx0.hops > MAX_HOPS) return { kind: "refuse", refusal: "hops", message: `request forwarded ${ctx0.hops} times; giving up` }
    let ctx = ctx0
    // Peers that failed this request upstream count as failed here too.
    const excluded = new Set<string>(ctx0.failed)
    const notHolders = new Set<string>()
    // the entry each of those had when it refused: a different one is a claim it made since (a
    // load under way there), which the first-copy claim below must count
    const staleSince = new Map<string, number | undefined>()
    // set while this instance stands aside because another claimed the copy first
    let lostClaim = false
    const reasons: string[] = []
    let record: ClusterModelRecord | undefined = d.registry.model(modelId)
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (record === undefined) return { kind: "unavailable", message: `model "${modelId}" is not registered in the cluster` }
      // A peer whose entry changed since it refused has claimed the model again: a holder again.
      for (const [id, since] of staleSince) {
        if (record.instanceIds[id] !== since) {
          notHolders.delete(id)
          staleSince.delete(id)
        }
      }
      const local = excluded.has(d.selfId) ? "absent" : this.localCopy(modelId, ctx.mode === "hit")
      const decision = d.decider.decide({ model: record, local, ctx, excluded, notHolders, shuttingDown: d.shuttingDown(), now: Date.now() })
      switch (decision.kind) {
        case "local": {
          const r = await io.local()
          if (r.kind === "served") return { kind: "done" }
          if (r.kind === "gone") {
            record = await this.gone(modelId, r, reasons)
            continue
          }
          const out = await this.localFailed(modelId, ctx, r, excluded, reasons)
          if (out !== undefined) return out
          record = d.registry.model(modelId)
          continue
        }
        case "load-here": {
          // Counted as loading here from before the claim is written, so a "hit only" request
          // arriving meanwhile joins this load instead of being refused (or dropping the entry).
          this.count(this.claiming, modelId, +1)
          let r: LocalResult
          let won = false
          try {
            const claim = await run(d.registry.claimCopy(modelId, d.selfId, Date.now(), decision.firstCopy ? { whenFewerThan: 1, isAlive: (id, since) => d.isAlive(id) && !excluded.has(id) && !(notHolders.has(id) && staleSince.get(id) === since) } : {}))
            if (!claim.ok) return { kind: "unavailable", message: `cannot record a new copy of "${modelId}": ${messageOf(claim.error)}` }
            record = claim.value.record
            if (!claim.value.claimed) {
              // Another instance claimed the first copy meanwhile: join its load instead.
              excluded.add(d.selfId)
              lostClaim = true
              ctx = { ...ctx, mode: undefined }
              continue
            }
            won = true
            this.count(this.claimed, modelId, +1)
            this.count(this.claiming, modelId, -1)
            r = await io.local()
          } finally {
            if (won) this.count(this.claimed, modelId, -1)
            else this.count(this.claiming, modelId, -1)
          }
          if (r.kind === "served") return { kind: "done" }
          if (r.kind === "gone") {
            record = await this.gone(modelId, r, reasons)
            continue
          }
          const out = await this.localFailed(modelId, ctx, r, excluded, reasons)
          if (out !== undefined) return out
          record = d.registry.model(modelId)
          continue
        }
        case "forward": {
          const to = decision.to
          const failed = [...excluded].filter((id) => id !== d.selfId)
          const r = await io.forward(to, decision.mode, failed.length === ctx.failed.length ? ctx : { ...ctx, failed })
          d.onForward?.(to.id, decision.mode, r)
          if (r.kind === "answered") return { kind: "done" }
          // "Not here" to a hit: a stale copy entry (evicted meanwhile); that peer may still load it.
          if (r.refusal === "not-here" && decision.mode === "hit" && !notHolders.has(to.id)) {
            notHolders.add(to.id)
            staleSince.set(to.id, record.instanceIds[to.id])
            // The claim this instance lost was to a copy entry that turned out stale: claim again.
            if (lostClaim) {
              excluded.delete(d.selfId)
              lostClaim = false
            }
          } else excluded.add(to.id)
          reasons.push(r.reason)
          d.warn("forward failed; trying elsewhere", { model: modelId, to: to.id, mode: decision.mode, reason: r.reason })
          record = d.registry.model(modelId)
          continue
        }
        case "refuse": {
          // A "hit only" request for a model listed here but not held (evicted meanwhile): drop
          // the stale entry now rather than at the next sweep, so others stop routing here.
          // Only that entry: a claim made here meanwhile rewrites it and must stay listed.
          const stale = record.instanceIds[d.selfId]
          if (decision.refusal === "not-here" && stale !== undefined && !this.claimed.has(modelId) && !this.claiming.has(modelId)) {
            void run(d.registry.releaseCopy(modelId, d.selfId, { onlyIfSince: stale }))
          }
          return { kind: "refuse", refusal: decision.refusal, message: `instance ${d.selfId} ${decision.refusal === "draining" ? "is shutting down" : `holds no copy of "${modelId}"`}` }
        }
        case "fail":
          reasons.push(decision.reason)
          return { kind: "unavailable", message: reasons.join("; ") }
      }
    }
    return { kind: "unavailable", message: `model "${modelId}" could not be served after ${MAX_ATTEMPTS} attempts: ${reasons.join("; ")}` }
  }

  /**
   * The model left this instance before the request got a slot. Its copy entry here is stale
   * unless a load here has started or been claimed since: drop it (only the entry seen now),
   * so the next decision neither counts this instance as a holder nor skips it for placement.
   * Returns the record to decide on.
   */
  private async gone(modelId: string, r: { readonly message: string }, reasons: string[]): Promise<ClusterModelRecord | undefined> {
    const d = this.d
    reasons.push(`${d.selfId}: ${r.message}`)
    const since = d.registry.model(modelId)?.instanceIds[d.selfId]
    if (since !== undefined && d.localCopy(modelId) === "absent" && !this.claimUnderway(modelId)) {
      const released = await run(d.registry.releaseCopy(modelId, d.selfId, { onlyIfSince: since }))
      if (released.ok) return released.value
    }
    return d.registry.model(modelId)
  }

  /**
   * This instance could not serve: a forwarded request tells its sender why (it tries elsewhere);
   * a client's request goes on elsewhere from here (undefined: keep looping).
   */
  private async localFailed(
    modelId: string,
    ctx: ForwardContext,
    r: Exclude<LocalResult, { kind: "served" | "gone" }>,
    excluded: Set<string>,
    reasons: string[]
  ): Promise<MeshOutcome | undefined> {
    const d = this.d
    if (r.kind === "load-failed") {
      await run(d.registry.recordLoadFailure(modelId, d.selfId, r.message, Date.now()))
    } else if (d.localCopy(modelId) === "absent" && !this.claimed.has(modelId) && !this.claiming.has(modelId)) {
      // No room for this request; but another request's load here may have won room meanwhile:
      // its entry stays (only the entry seen now, with nothing loading here, is dropped).
      const since = d.registry.model(modelId)?.instanceIds[d.selfId]
      await run(d.registry.releaseCopy(modelId, d.selfId, since === undefined ? {} : { onlyIfSince: since }))
    }
    reasons.push(`${d.selfId}: ${r.message}`)
    if (ctx.mode !== undefined) return { kind: "refuse", refusal: r.kind, message: r.message }
    excluded.add(d.selfId)
    return undefined
  }
}
