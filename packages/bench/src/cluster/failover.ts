import { type BenchCluster, alive, byId, infer, waitExit } from "./local.js"
import { sleep } from "./closed-loop.js"

/**
 * Failover: `kill -9` of an instance, then every model it held is polled through the surviving
 * instances (one request per pending model every 100 ms, spread over the survivors) until it
 * answers 200. The figure is the time from the kill to the last of them answering.
 */

export interface FailoverResult {
  readonly models: number
  /** seconds from the kill to the last model answering; NaN when one never did within the limit */
  readonly seconds: number
  readonly firstSeconds: number
  readonly unanswered: ReadonlyArray<string>
}

export const measureFailover = async (bc: BenchCluster, o: { victimId: string; models: ReadonlyArray<string>; limitSeconds: number }): Promise<FailoverResult> => {
  const victim = byId(bc.cluster, o.victimId)
  const survivors = alive(bc.cluster).filter((x) => x.id !== o.victimId).map((x) => x.url)
  const answeredAt = new Map<string, number>()
  const t0 = performance.now()
  victim.child.kill("SIGKILL")
  await waitExit(victim.child)
  let round = 0
  while (answeredAt.size < o.models.length && performance.now() - t0 < o.limitSeconds * 1000) {
    const pending = o.models.filter((m) => !answeredAt.has(m))
    const tick = sleep(100)
    await Promise.all(
      pending.map(async (m, i) => {
        const status = await infer(survivors[(i + round) % survivors.length]!, m, bc.body, 5000).catch(() => 0)
        if (status === 200 && !answeredAt.has(m)) answeredAt.set(m, performance.now())
      })
    )
    await tick
    round++
  }
  const times = [...answeredAt.values()].map((t) => (t - t0) / 1000)
  const unanswered = o.models.filter((m) => !answeredAt.has(m))
  return { models: o.models.length, seconds: unanswered.length > 0 ? NaN : Math.max(...times), firstSeconds: Math.min(...times), unanswered }
}
