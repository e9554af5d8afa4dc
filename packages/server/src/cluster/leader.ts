/**
 * One leader for the cluster-wide chores, elected through etcd (etcd3's Election under
 * `<prefix>election/leader/`). `campaignForLeadership` campaigns, runs `whileLeader` in a scope
 * that closes the moment leadership is lost (lease gone, etcd away longer than its TTL), and
 * campaigns again. A stopping leader resigns, so the next one takes over at once.
 */
import { Effect, Either, Exit, ExecutionStrategy, Scope } from "effect"
import { ClusterRegistry } from "./cluster-registry.js"
import { ClusterConfig } from "./config.js"
import { KvStore } from "./kv-store.js"
import { Membership } from "./membership.js"

/** Between campaigns after a lost one (etcd away): a campaign itself waits on etcd. */
const RECAMPAIGN_DELAY_MS = 500

export interface LeadershipState {
  readonly isLeader: () => boolean
  /** how many times this instance became leader */
  readonly terms: () => number
}

export const campaignForLeadership = (
  whileLeader: Effect.Effect<void, never, Scope.Scope>
): Effect.Effect<LeadershipState, never, Scope.Scope | KvStore | ClusterConfig> =>
  Effect.gen(function* () {
    const store = yield* KvStore
    const cfg = yield* ClusterConfig
    let leading = false
    let terms = 0
    const outer = yield* Effect.scope

    const term = Effect.gen(function* () {
      const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
      const campaign = yield* store.campaign(cfg.keys.root, cfg.instanceId, cfg.leaderTtlSeconds).pipe(Scope.extend(scope))
      const elected = yield* Effect.either(Effect.raceFirst(campaign.elected, campaign.lost.pipe(Effect.as("lost" as const))))
      if (Either.isRight(elected) && elected.right !== "lost") {
        leading = true
        terms++
        yield* Effect.logInfo("cluster: this instance is the leader", { instance: cfg.instanceId })
        // The chores live in the term's scope: closing it interrupts them before we resign.
        yield* Effect.raceFirst(Effect.forkIn(whileLeader.pipe(Scope.extend(scope)), scope).pipe(Effect.andThen(Effect.never)), campaign.lost)
        leading = false
        yield* Effect.logWarning("cluster: leadership lost", { instance: cfg.instanceId })
      }
      yield* Scope.close(scope, Exit.void)
      yield* Effect.sleep(RECAMPAIGN_DELAY_MS)
    })

    yield* Effect.forkScoped(Effect.forever(term))
    return { isLeader: () => leading, terms: () => terms }
  })

/**
 * The leader's chore: drop copy entries of instances that have been gone for pruneGraceMs
 * (their records vanished with their leases), so routing and placement stop counting them.
 */
export const pruneGoneCopies = (opts: { readonly graceMs: number; readonly intervalMs: number }) =>
  Effect.gen(function* () {
    const registry = yield* ClusterRegistry
    const membership = yield* Membership
    const firstMissing = new Map<string, number>()
    const sweep = Effect.gen(function* () {
      // Only decide on a live view: while etcd is away every instance looks gone.
      if (!membership.table.connected) return
      const now = Date.now()
      const seen = new Set<string>()
      for (const m of [...registry.allModels()]) {
        const gone: string[] = []
        for (const id of Object.keys(m.instanceIds)) {
          seen.add(id)
          if (membership.isAlive(id)) continue
          const since = firstMissing.get(id) ?? now
          firstMissing.set(id, since)
          if (now - since >= opts.graceMs) gone.push(id)
        }
        if (gone.length > 0) {
          yield* registry.pruneCopies(m.id, (id) => !gone.includes(id)).pipe(
            Effect.tap(() => Effect.logInfo("cluster: pruned copies of instances gone", { model: m.id, instances: gone })),
            Effect.catchAll((e) => Effect.logWarning("cluster: cannot prune copy records", { model: m.id, error: e.message }))
          )
        }
      }
      for (const id of [...firstMissing.keys()]) if (!seen.has(id) || membership.isAlive(id)) firstMissing.delete(id)
    })
    return yield* Effect.forever(Effect.zipRight(sweep, Effect.sleep(opts.intervalMs)))
  })

/** The leader with its built-in chores (pruning); the server adds minCopies and vmodel chores later. */
export class Leader extends Effect.Service<Leader>()("meshkit/server/Leader", {
  scoped: Effect.gen(function* () {
    const cfg = yield* ClusterConfig
    const registry = yield* ClusterRegistry
    const membership = yield* Membership
    const chores = pruneGoneCopies({ graceMs: cfg.pruneGraceMs, intervalMs: cfg.pruneIntervalMs }).pipe(
      Effect.provideService(ClusterRegistry, registry),
      Effect.provideService(Membership, membership)
    )
    return yield* campaignForLeadership(chores)
  })
}) {}
