/**
 * How many copies each model has across the cluster, kept by the core's scaling decision
 * (`targetCopies`, the code the simulator runs) and the placement policy:
 *
 *   - scale up: for a model this instance holds, when the target is above the live copies, the
 *     holder with the smallest id (one per model, so holders do not all add a copy at once)
 *     places one more copy per evaluation and asks that instance to load it;
 *   - scale down: when the live copies exceed the target, the holder with the largest id drops
 *     its copy if it is idle; never the last copy (targetCopies is ≥ 1; removing a model
 *     altogether is the eviction policy's decision);
 *   - minCopies (the leader): a model with fewer live copies than its minCopies gets one placed;
 *   - drain: every model this instance serves that has no other live copy gets one elsewhere,
 *     most recently used first, while this instance keeps serving it; only then does it let go.
 *
 * Plain code run on timers; nothing here is on the request path.
 */
import { clusterFreeFraction, type InstanceViewState, type Placer, targetCopies, type ScalingPolicy } from "@meshkit/core"
import { modelSpecOf } from "./mesh-decision.js"
import type { MeshView } from "./mesh-view.js"
import type { ClusterModelRecord, InstanceRecord, InstanceStatus } from "./records.js"

export interface LocalModelUse {
  readonly id: string
  readonly lastUsed: number
  readonly inFlight: number
  /** requests per minute on this copy */
  readonly rpm: number
  /** earliest use in the scaling look-back window (ModelLoadStats.firstUsedInWindow) */
  readonly firstUsedInWindow: number
}

export interface CopyKeeperDeps {
  readonly selfId: string
  readonly view: MeshView
  readonly placer: Placer<InstanceViewState>
  readonly scaling: ScalingPolicy | undefined
  readonly instances: () => Iterable<InstanceRecord>
  readonly selfStatus: () => InstanceStatus
  readonly models: () => Iterable<ClusterModelRecord>
  readonly model: (id: string) => ClusterModelRecord | undefined
  /** the loaded models here, with their use */
  readonly localUse: () => Iterable<LocalModelUse>
  readonly sizeOf: (m: ClusterModelRecord) => number
  /** ask `to` to load a copy of `model` (resolves when it answered: loaded, or refused) */
  readonly requestCopy: (to: InstanceRecord, model: string, reason: string) => Promise<boolean>
  /** drop this instance's copy of `model` (registry entry first, then the unload) */
  readonly dropLocalCopy: (model: string) => Promise<void>
  readonly log: (message: string, fields: Record<string, unknown>) => void
  /** an idle copy must have been unused this long before scale-down removes it */
  readonly idleBeforeRemoveMs: number
}

export class CopyKeeper {
  private busy = false

  constructor(private readonly d: CopyKeeperDeps) {}

  private liveHolders(m: ClusterModelRecord, live: Map<string, InstanceRecord>): InstanceRecord[] {
    const out: InstanceRecord[] = []
    for (const id of Object.keys(m.instanceIds)) {
      const r = live.get(id)
      if (r !== undefined && !r.shuttingDown) out.push(r)
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : 1))
  }

  private live(): Map<string, InstanceRecord> {
    const live = new Map<string, InstanceRecord>()
    for (const r of this.d.instances()) live.set(r.id, r)
    return live
  }

  /** Place one new copy of `m` away from its holders and ask the chosen instance to load it. */
  private async addCopy(m: ClusterModelRecord, live: Map<string, InstanceRecord>, exclude: ReadonlySet<string>, reason: string): Promise<boolean> {
    const d = this.d
    const now = Date.now()
    const size = d.sizeOf(m)
    const views = d.view.refresh([...live.values()], d.selfStatus(), now).filter((v) => !exclude.has(v.id))
    for (const v of views) v.hasModel = m.instanceIds[v.id] !== undefined
    const chosen = d.placer.place({ model: modelSpecOf(m, size), sizeBytes: size }, views, now, { admit: () => true })
    if (chosen === undefined) {
      d.log("no instance can take another copy", { model: m.id, reason })
      return false
    }
    d.view.reserve(chosen.id, m.id, size, now)
    const to = live.get(chosen.id)
    if (to === undefined) return false
    const ok = await d.requestCopy(to, m.id, reason)
    d.log(ok ? "copy added" : "copy refused", { model: m.id, to: to.id, reason })
    return ok
  }

  /** One scaling evaluation over the models held here. */
  async scaleTick(): Promise<void> {
    const d = this.d
    if (d.scaling === undefined || this.busy) return
    this.busy = true
    try {
      const live = this.live()
      const now = Date.now()
      const views = d.view.refresh([...live.values()], d.selfStatus(), now)
      const free = clusterFreeFraction(views)
      for (const use of d.localUse()) {
        const m = d.model(use.id)
        if (m === undefined) continue
        const holders = this.liveHolders(m, live)
        if (!holders.some((h) => h.id === d.selfId)) continue
        const copies = holders.length
        const target = targetCopies(
          d.scaling,
          {
            id: m.id,
            copies,
            minCopies: m.minCopies,
            maxCopies: m.maxCopies,
            // Routing spreads a model's requests over its copies: this copy's rate stands for each.
            rpm: use.rpm * copies,
            lastUsed: use.lastUsed,
            firstUsedInWindow: use.firstUsedInWindow,
            clusterFreeFraction: free
          },
          now
        )
        if (target > copies && holders[0]!.id === d.selfId) {
          await this.addCopy(m, live, new Set(), `scale up to ${target}`)
        } else if (target < copies && holders[copies - 1]!.id === d.selfId && use.inFlight === 0 && now - use.lastUsed >= d.idleBeforeRemoveMs) {
          d.log("copy removed (scale down)", { model: m.id, copies, target })
          await d.dropLocalCopy(m.id)
        }
      }
    } finally {
      this.busy = false
    }
  }

  /** The leader's chore: every model below its minCopies gets one more copy per run. */
  async keepMinCopies(): Promise<void> {
    const d = this.d
    const live = this.live()
    for (const m of [...d.models()]) {
      const want = Math.max(m.minCopies, m.pinned ? 1 : 0)
      if (want === 0) continue
      const holders = this.liveHolders(m, live)
      if (holders.length < Math.min(want, live.size)) await this.addCopy(m, live, new Set(), `minCopies ${want}`)
    }
  }

  /**
   * Hand this instance's models over before it exits: each loaded model with no other live
   * copy gets one elsewhere (most recently used first), while requests keep being served here.
   * Returns the models it could not hand over.
   */
  async handOver(deadline: number): Promise<string[]> {
    const d = this.d
    const live = this.live()
    const uses = [...d.localUse()].sort((a, b) => b.lastUsed - a.lastUsed)
    const failed: string[] = []
    for (const use of uses) {
      if (Date.now() > deadline) {
        failed.push(use.id)
        continue
      }
      const m = d.model(use.id)
      if (m === undefined) continue
      const others = this.liveHolders(m, live).filter((h) => h.id !== d.selfId)
      if (others.length > 0) continue
      const ok = await this.addCopy(m, live, new Set([d.selfId]), "drain")
      if (!ok) failed.push(use.id)
    }
    return failed
  }
}
