/**
 * A cluster member in a process of its own, so a test can kill it (SIGKILL: no revoke, its
 * keepalives just stop). Usage: node --import tsx cluster-member.ts ENDPOINT PREFIX ID TTL_S
 * Prints "ready <leaseId>" once its record is published.
 */
import { Effect, Layer } from "effect"
import { ClusterRegistry } from "../../src/cluster/cluster-registry.js"
import { LocalInstance, Membership } from "../../src/cluster/membership.js"
import { baseLayer, idleStatus } from "./cluster.js"

const [endpoint, prefix, instanceId, ttl] = process.argv.slice(2)
const base = baseLayer(endpoint!, { instanceId: instanceId!, prefix: prefix!, leaseTtlSeconds: Number(ttl) })
const layer = Membership.Default.pipe(
  Layer.provideMerge(ClusterRegistry.Default),
  Layer.provide(Layer.succeed(LocalInstance, { status: () => idleStatus() })),
  Layer.provide(base)
)
Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      const m = yield* Membership
      process.stdout.write(`ready ${m.leaseId()}\n`)
      return yield* Effect.never
    }).pipe(Effect.provide(layer))
  )
).catch((e) => {
  process.stderr.write(`${e}\n`)
  process.exit(1)
})
