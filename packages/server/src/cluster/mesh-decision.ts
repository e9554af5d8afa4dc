/**
 * Serve here or forward: the decision an instance makes for a request whose model it does not
 * hold loaded, with the core's routing and placement policies (the very code the simulator runs).
 *
 *   - a copy is loaded (or loading) here          → serve here
 *   - forwarded with "load here"                   → claim the copy, load it here, serve
 *   - forwarded "hit only" and no copy here        → refuse (not-here): the sender tries elsewhere
 *   - other instances hold copies                  → route among them (loaded ones first; a
 *                                                    shutting-down holder only if no other)
 *   - nobody holds it (a global miss)              → placement picks the instance that loads it
 *
 * Every instance already tried for this request is excluded, so a failing peer is asked once
 * and the decision always terminates. Plain synchronous code over the local copies of the
 * records: it never waits on etcd.
 */
import { type CopyView, type InstanceViewState, type ModelSpec, Placer, route, type RoutingPolicy } from "@meshkit/core"
import type { ForwardContext, ForwardMode } from "./forwarder.js"
import type { MeshView } from "./mesh-view.js"
import type { ClusterModelRecord, InstanceRecord } from "./records.js"

export type LocalCopy = "loaded" | "loading" | "absent"

export type Decision =
  | { readonly kind: "local" }
  /** load here: claim the copy in the registry first (firstCopy: only if nobody holds one) */
  | { readonly kind: "load-here"; readonly firstCopy: boolean }
  | { readonly kind: "forward"; readonly to: InstanceRecord; readonly mode: ForwardMode }
  | { readonly kind: "refuse"; readonly refusal: "not-here" | "draining" }
  | { readonly kind: "fail"; readonly reason: string }

export interface DecisionInput {
  readonly model: ClusterModelRecord
  readonly local: LocalCopy
  readonly ctx: ForwardContext
  /** instances excluded for this request beyond ctx.tried (peers that failed it here) */
  readonly excluded: ReadonlySet<string>
  /**
   * peers that answered "not here" to a hit: their copy entry is stale (evicted meanwhile), so
   * they are no holders, but they are still candidates for loading it
   */
  readonly notHolders?: ReadonlySet<string>
  readonly shuttingDown: boolean
  readonly now: number
}

export interface MeshDecider {
  decide(input: DecisionInput): Decision
}

const copyViewOf = (r: InstanceRecord): CopyView => ({ instanceId: r.id, inFlight: r.inFlight, maxConcurrency: Number.MAX_SAFE_INTEGER })

/** A registered model as the core's placement request sees it. */
export const modelSpecOf = (m: ClusterModelRecord, size: number): ModelSpec => ({
  id: m.id,
  tenant: m.tenant,
  format: m.format,
  uri: m.uri,
  sizeBytes: size,
  loadCostMs: 0,
  labels: m.labels,
  pinned: m.pinned,
  minCopies: m.minCopies,
  maxCopies: m.maxCopies
})

export const makeMeshDecider = (o: {
  readonly selfId: string
  readonly view: MeshView
  readonly instances: () => Iterable<InstanceRecord>
  readonly selfStatus: () => InstanceRecord
  readonly routing: RoutingPolicy
  readonly placer: Placer<InstanceViewState>
  /** the bytes a new copy will need (predicted or measured) */
  readonly sizeOf: (m: ClusterModelRecord) => number
  /** a load that failed on an instance keeps placement away from it this long */
  readonly failureMemoryMs: number
}): MeshDecider => {
  const { selfId } = o
  const decide = (i: DecisionInput): Decision => {
    const { model: m, ctx } = i
    if (i.local !== "absent") return { kind: "local" }
    if (ctx.mode === "load") return i.shuttingDown ? { kind: "refuse", refusal: "draining" } : { kind: "load-here", firstCopy: true }
    if (ctx.mode === "hit") return { kind: "refuse", refusal: "not-here" }

    // Placement skips every instance this request already went through; a holder is asked even
    // if the request came from it (it may have started loading meanwhile): a "hit only" forward
    // is served or refused there, never forwarded on, so this cannot loop.
    const skip = (id: string) => id === selfId || ctx.tried.includes(id) || i.excluded.has(id)
    const skipHolder = (id: string) => id === selfId || i.excluded.has(id) || i.notHolders?.has(id) === true
    const live = new Map<string, InstanceRecord>()
    for (const r of o.instances()) live.set(r.id, r)

    // Holders: copy entries of live instances. Loaded copies first; loading ones only if none is
    // loaded (the request then waits on that load instead of starting another).
    const loaded: InstanceRecord[] = []
    const loading: InstanceRecord[] = []
    for (const id of Object.keys(m.instanceIds)) {
      const r = live.get(id)
      if (r === undefined || skipHolder(id)) continue
      if (r.models.includes(m.id)) loaded.push(r)
      else loading.push(r)
    }
    const pick = (rs: InstanceRecord[]): InstanceRecord[] => {
      const up = rs.filter((r) => !r.shuttingDown)
      return up.length > 0 ? up : rs
    }
    const holders = pick(loaded.length > 0 ? loaded : loading)
    if (holders.length > 0) {
      const copies = holders.map(copyViewOf)
      return { kind: "forward", to: holders[route(o.routing, copies, m.id, i.now)]!, mode: "hit" }
    }

    // A global miss: placement over every live instance not excluded (this one included).
    const size = o.sizeOf(m)
    const views = o.view.refresh(
      [...live.values()].filter((r) => !skip(r.id)),
      o.selfStatus(),
      i.now
    )
    const candidates = i.excluded.has(selfId) || ctx.tried.includes(selfId) || i.shuttingDown ? views.filter((v) => v.id !== selfId) : views
    for (const v of candidates) {
      const failed = m.failedIn[v.id]
      const holds = m.instanceIds[v.id] !== undefined && i.notHolders?.has(v.id) !== true
      v.hasModel = holds || (failed !== undefined && i.now - failed.atMs < o.failureMemoryMs)
    }
    const chosen = o.placer.place({ model: modelSpecOf(m, size), sizeBytes: size, required: undefined, preferred: undefined }, candidates, i.now, { admit: () => true })
    if (chosen === undefined) {
      const why = candidates.length === 0 ? "no instance is left to try" : `no instance can take ${size} bytes (all full, shutting down, failed it recently, or excluded)`
      return { kind: "fail", reason: `cannot place model "${m.id}": ${why}` }
    }
    o.view.reserve(chosen.id, m.id, size, i.now)
    if (chosen.id === selfId) return { kind: "load-here", firstCopy: true }
    const to = live.get(chosen.id)
    if (to === undefined) return { kind: "fail", reason: `placement chose ${chosen.id}, which is gone` }
    return { kind: "forward", to, mode: "load" }
  }

  return { decide }
}
