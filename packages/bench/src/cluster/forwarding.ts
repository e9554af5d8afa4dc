import { type BenchCluster, byId, inferPath } from "./local.js"
import { pct, timedRun, type Phase } from "./closed-loop.js"

/**
 * Forwarding overhead: the same resident model, the same load, sent straight to its holder (A)
 * or to an instance that does not hold it and forwards the raw request (B). Rounds alternate
 * A B B A A B ..., so slow drift on a shared machine falls on both sides; each figure is the
 * per-pair difference, then the median over pairs.
 */

export interface ForwardingRun {
  readonly side: "direct" | "forwarded"
  readonly pair: number
  readonly p50Us: number
  readonly p99Us: number
  readonly reqPerSec: number
  readonly failures: number
  readonly firstFailure?: string
}

export const measureForwarding = async (
  bc: BenchCluster,
  o: { model: string; holderId: string; connections: number; pairs: number; seconds: number; progress: (l: string) => void }
): Promise<ForwardingRun[]> => {
  const holder = byId(bc.cluster, o.holderId)
  const other = bc.cluster.instances.find((x) => x.id !== o.holderId)!
  const path = inferPath(o.model)
  const run = (port: number, ms: number): Promise<Phase> => timedRun({ connections: o.connections, body: bc.body, next: () => ({ port, path }) }, ms)
  // warm both paths: JIT, the forwarder's pooled connections to the holder
  await run(holder.port, 2000)
  await run(other.port, 2000)
  const runs: ForwardingRun[] = []
  for (let i = 0; i < o.pairs; i++) {
    const order = i % 2 === 0 ? (["direct", "forwarded"] as const) : (["forwarded", "direct"] as const)
    for (const side of order) {
      const p = await run(side === "direct" ? holder.port : other.port, o.seconds * 1000)
      const r: ForwardingRun = {
        side,
        pair: i,
        p50Us: pct(p, 50),
        p99Us: pct(p, 99),
        reqPerSec: p.ok / o.seconds,
        failures: p.failures.length,
        ...(p.failures[0] ? { firstFailure: p.failures[0] } : {})
      }
      runs.push(r)
      o.progress(`forwarding pair ${i + 1}/${o.pairs} ${side.padEnd(9)} p50 ${r.p50Us} µs, p99 ${r.p99Us} µs, ${Math.round(r.reqPerSec)} req/s${r.failures ? `, ${r.failures} failures (${r.firstFailure})` : ""}`)
    }
  }
  return runs
}

/** Per-pair forwarded − direct, in ms, for percentile `key`. */
export const pairDeltasMs = (runs: ReadonlyArray<ForwardingRun>, key: "p50Us" | "p99Us"): number[] => {
  const pairs = Math.max(0, ...runs.map((r) => r.pair + 1))
  return Array.from({ length: pairs }, (_, i) => {
    const f = runs.find((r) => r.pair === i && r.side === "forwarded")!
    const d = runs.find((r) => r.pair === i && r.side === "direct")!
    return (f[key] - d[key]) / 1000
  })
}
