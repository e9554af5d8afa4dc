import { type BenchCluster, alive, byId, inferPath, waitExit } from "./local.js"
import { newPhase, pct, sleep, startLoop } from "./closed-loop.js"

/**
 * Drain: load on the models one instance holds, sent through the other instances (as a load
 * balancer does once it has taken the draining instance out). The latency before SIGTERM is the
 * baseline; "during" covers requests sent from SIGTERM until the process has exited plus a
 * second, when its models have moved. Every non-2xx or connection error counts as a failure.
 */

export interface DrainResult {
  readonly models: number
  readonly beforeP99Us: number
  readonly duringP99Us: number
  readonly beforeP50Us: number
  readonly duringP50Us: number
  readonly duringMaxUs: number
  readonly requestsDuring: number
  readonly failures: number
  readonly failureSamples: ReadonlyArray<string>
  readonly drainSeconds: number
}

export const measureDrain = async (
  bc: BenchCluster,
  o: { victimId: string; models: ReadonlyArray<string>; connections: number; beforeSeconds: number; progress: (l: string) => void }
): Promise<DrainResult> => {
  const victim = byId(bc.cluster, o.victimId)
  const ports = alive(bc.cluster).filter((x) => x.id !== o.victimId).map((x) => x.port)
  const paths = o.models.map(inferPath)
  const counters = Array.from({ length: o.connections }, () => 0)
  const next = (c: number) => {
    const k = counters[c]!++
    return { port: ports[(c + k) % ports.length]!, path: paths[(c * 7 + k) % paths.length]! }
  }
  const before = newPhase()
  const loop = startLoop({ connections: o.connections, body: bc.body, next }, before)
  await sleep(o.beforeSeconds * 1000)
  const during = newPhase()
  loop.phase = during
  const t0 = performance.now()
  victim.child.kill("SIGTERM")
  await waitExit(victim.child)
  const drainSeconds = (performance.now() - t0) / 1000
  await sleep(1000)
  await loop.stop()
  o.progress(`drain of ${o.victimId} (${o.models.length} models) took ${drainSeconds.toFixed(2)} s; p99 before ${pct(before, 99)} µs, during ${pct(during, 99)} µs, ${before.failures.length + during.failures.length} failures`)
  return {
    models: o.models.length,
    beforeP99Us: pct(before, 99),
    duringP99Us: pct(during, 99),
    beforeP50Us: pct(before, 50),
    duringP50Us: pct(during, 50),
    duringMaxUs: during.hist.maxValue,
    requestsDuring: during.ok + during.failures.length,
    failures: before.failures.length + during.failures.length,
    failureSamples: [...before.failures, ...during.failures].slice(0, 3),
    drainSeconds
  }
}
