/**
 * Loads and unloads asked for by name rather than by a request (cluster mode): the control
 * plane's `POST /v1/models/{id}/load` and `/unload`, KServe's repository load and unload (REST
 * and gRPC), a registration with `loadNow`/`pinned`/`minCopies`, and a peer's copy request
 * (`POST /v2/internal/copies/{id}`). They keep the rule every load in the cluster keeps: a copy
 * is claimed in the shared registry before its load starts, so the registry knows where the
 * copies are and a model never has more than maxCopies.
 *
 *   - load: an explicit load means "a copy here". It claims with `whenFewerThan: maxCopies`,
 *     counting only live holders. A model already at its maximum elsewhere is refused
 *     ("no-room"; the control plane and the repository answer 409 Conflict with the holders),
 *     as a peer's copy request is, rather than loaded beyond maxCopies behind the registry's
 *     back. A copy already here, or listed here, is simply (re)claimed.
 *   - unload (control plane, repository): the copy goes and its entry with it, at once.
 *   - a vmodel's target (and a model to describe, node.ts): loaded here through a claim, or, at
 *     maxCopies elsewhere, waited for there.
 */
import { Effect } from "effect"
import { Conflict, LoadFailed, messageOf, ModelNotFound, Unavailable } from "../errors.js"
import type { ModelEntry } from "../instance/model-entry.js"
import type { ClusterRegistry, StoreError } from "./cluster-registry.js"
import type { RefusalReason } from "./forwarder.js"

export type ClaimedLoad =
  /** the copy is claimed and its load started: `loaded` settles with it */
  | { readonly ok: true; readonly loaded: Promise<void> }
  | { readonly ok: false; readonly refusal: Extract<RefusalReason, "no-room" | "draining" | "not-here">; readonly message: string }
  /** the claim could not be written (etcd away) */
  | { readonly ok: false; readonly refusal: "unavailable"; readonly error: StoreError; readonly message: string }

export interface ExplicitCopiesDeps {
  readonly selfId: string
  readonly registry: Pick<ClusterRegistry, "claimCopy" | "releaseCopy" | "recordLoadFailure" | "model">
  readonly manager: {
    readonly ensureLoaded: (e: ModelEntry, urgent: boolean) => Promise<void>
    readonly unload: (e: ModelEntry) => Promise<void>
  }
  /** the mesh's window for a claim made outside the request loop (Mesh.whileClaiming) */
  readonly whileClaiming: <A>(modelId: string, f: () => Promise<A>) => Promise<A>
  /** whether an instance other than this one has published the model as loaded */
  readonly loadedElsewhere: (modelId: string) => boolean
  /** whether a claim or a load for the model is under way here (Mesh.claimUnderway) */
  readonly claimUnderway: (modelId: string) => boolean
  readonly localCopy: (modelId: string) => "loaded" | "loading" | "absent"
  readonly isAlive: (instanceId: string) => boolean
  readonly shuttingDown: () => boolean
  readonly warn: (message: string, fields: Record<string, unknown>) => void
}

const run = <A, E>(e: Effect.Effect<A, E>): Promise<{ ok: true; value: A } | { ok: false; error: E }> =>
  Effect.runPromise(Effect.either(e)).then((r) => (r._tag === "Right" ? { ok: true as const, value: r.right } : { ok: false as const, error: r.left }))

export class ExplicitCopies {
  constructor(private readonly d: ExplicitCopiesDeps) {}

  /**
   * Claim a copy of `e` here (within its maxCopies), then load it. Resolves once the claim is
   * decided; a failed load drops the entry and is remembered (failedIn), as a request's is.
   */
  claimAndLoad(e: ModelEntry, urgent: boolean): Promise<ClaimedLoad> {
    const d = this.d
    if (d.shuttingDown()) return Promise.resolve({ ok: false, refusal: "draining", message: `instance ${d.selfId} is shutting down` })
    return new Promise<ClaimedLoad>((decided) => {
      // the mesh counts this as a load under way here from before the claim is written: a hit
      // forwarded here meanwhile joins it instead of being refused and dropping the new entry
      void d.whileClaiming(e.id, async () => {
        const m = d.registry.model(e.id)
        const maxCopies = Math.max(1, m?.maxCopies ?? e.record.maxCopies)
        const claim = await run(d.registry.claimCopy(e.id, d.selfId, Date.now(), { whenFewerThan: maxCopies, isAlive: (i) => i === d.selfId || d.isAlive(i) }))
        if (!claim.ok) {
          const error = claim.error
          return decided(
            error._tag === "ModelNotFound"
              ? { ok: false, refusal: "not-here", message: error.message }
              : { ok: false, refusal: "unavailable", error, message: `cannot record a copy of "${e.id}" here: ${error.message}` }
          )
        }
        if (!claim.value.claimed) {
          const holders = Object.keys(claim.value.record.instanceIds).filter((i) => d.isAlive(i))
          return decided({
            ok: false,
            refusal: "no-room",
            message: `model "${e.id}" already has its maximum of ${maxCopies} ${maxCopies === 1 ? "copy" : "copies"} (on ${holders.join(", ")}); unload one there or raise maxCopies`
          })
        }
        const loaded = d.manager.ensureLoaded(e, urgent).catch(async (err: unknown) => {
          await run(d.registry.recordLoadFailure(e.id, d.selfId, messageOf(err), Date.now()))
          throw err
        })
        decided({ ok: true, loaded })
        await loaded.catch(() => undefined)
      })
    })
  }

  /**
   * The control plane's and the repository's load: resolves with the load under way once the
   * copy is claimed; rejects with Conflict (409) at maxCopies, Unavailable (503) while this
   * instance shuts down, EtcdUnavailable (503) when the claim cannot be written.
   */
  async load(e: ModelEntry, urgent: boolean): Promise<{ readonly loaded: Promise<void> }> {
    const r = await this.claimAndLoad(e, urgent)
    if (r.ok) return { loaded: r.loaded }
    if (r.refusal === "unavailable") throw r.error
    if (r.refusal === "draining") throw new Unavailable({ message: r.message, retryAfterMs: 1000 })
    if (r.refusal === "not-here") throw new ModelNotFound({ message: r.message })
    throw new Conflict({ message: r.message })
  }


  /**
   * Unload the copy here and drop its entry at once (not at the next copy-map sweep), so the
   * other instances stop counting and routing to it. Only the entry seen when the unload began
   * goes: a claim made here meanwhile (a request loading it again) rewrites it and stays.
   */
  async unload(e: ModelEntry): Promise<void> {
    const d = this.d
    const since = d.registry.model(e.id)?.instanceIds[d.selfId]
    await d.manager.unload(e)
    if (since === undefined || d.localCopy(e.id) !== "absent" || d.claimUnderway(e.id)) return
    const released = await run(d.registry.releaseCopy(e.id, d.selfId, { onlyIfSince: since }))
    // the copy is gone either way; an entry left behind is dropped by the copy-map sweep
    if (!released.ok) d.warn("unload: cannot drop the copy entry now; the copy-map sweep will", { model: e.id, error: released.error.message })
  }

  /**
   * A vmodel's target, loaded somewhere in the cluster: a claimed copy here, or, when the model
   * already has its maxCopies elsewhere, once one of those copies is loaded (at most
   * `timeoutMs`). ModelMesh's transition waits for the target to be loaded, not for a copy on
   * the instance that happened to take the call.
   */
  async loadedSomewhere(e: ModelEntry, timeoutMs: number): Promise<void> {
    const r = await this.claimAndLoad(e, false)
    if (r.ok) return r.loaded
    if (r.refusal === "unavailable") throw r.error
    if (r.refusal === "not-here") throw new ModelNotFound({ message: r.message })
    if (r.refusal === "draining") throw new Unavailable({ message: r.message, retryAfterMs: 1000 })
    const deadline = Date.now() + timeoutMs
    while (!this.d.loadedElsewhere(e.id)) {
      if (Date.now() > deadline) throw new LoadFailed({ message: `model "${e.id}" has its copies elsewhere, but none was loaded within ${timeoutMs} ms`, retryAfterMs: 1000 })
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}
