import { mkdirSync } from "node:fs"
import { join } from "node:path"
import type { Section } from "@meshkit/report"
import { fmt } from "../compare/compare.js"
import { figureOf, type Figure } from "../report/figures.js"
import type { Part, PartContext } from "../report/parts.js"
import { measureDrain, type DrainResult } from "./drain.js"
import { measureFailover, type FailoverResult } from "./failover.js"
import { measureForwarding, pairDeltasMs, type ForwardingRun } from "./forwarding.js"
import { alive, holdings, loadAll, startBenchCluster } from "./local.js"

/**
 * Cluster mode (issue 9), measured in one run: forwarding overhead, drain, failover. Three
 * instances and an etcd on this machine. Not in the default part list nor `--quick` (so not in
 * the CI gate): it takes minutes, and its ms-scale figures move with the machine's load.
 * None of its figures is gated.
 */

const INSTANCES = 3
const MODELS = 9
const SIZE = "1MiB"
const CONNECTIONS = 12

/** The instance holding the most models (ties: the first), and what it holds. */
const busiest = (h: Map<string, string[]>, among: ReadonlyArray<string>): [string, string[]] =>
  [...h].filter(([id]) => among.includes(id)).reduce((a, b) => (b[1].length > a[1].length ? b : a))

const failoverRun = async (ctx: PartContext, name: string, extra: ReadonlyArray<string>): Promise<FailoverResult> => {
  const bc = await startBenchCluster({ dir: mkdir(ctx, `cluster-${name}`), instances: INSTANCES, models: MODELS, size: SIZE, extra })
  try {
    const h = await loadAll(bc)
    const [victimId, models] = busiest(h, alive(bc.cluster).map((x) => x.id))
    const r = await measureFailover(bc, { victimId, models, limitSeconds: 60 })
    ctx.progress(`failover (${name}): kill -9 of ${victimId} (${models.length} models): all answered after ${fmt(r.seconds)} s (first after ${fmt(r.firstSeconds)} s)${r.unanswered.length ? `; never: ${r.unanswered.join(", ")}` : ""}`)
    return r
  } finally {
    await bc.stop()
  }
}

const mkdir = (ctx: PartContext, name: string) => {
  const d = join(ctx.workDir, name)
  mkdirSync(d, { recursive: true })
  return d
}

export const clusterPart: Part = async (ctx) => {
  const pairs = ctx.quick ? 3 : 5
  const seconds = ctx.quick ? 3 : 5
  ctx.progress(`${INSTANCES} instances, ${MODELS} models of ${SIZE} (maxCopies 1), ${CONNECTIONS} connections; forwarding ${pairs} pairs × ${seconds} s`)
  const bc = await startBenchCluster({ dir: mkdir(ctx, "cluster-models"), instances: INSTANCES, models: MODELS, size: SIZE })
  let forwarding: ForwardingRun[]
  let forwarding1: ForwardingRun[]
  let drain: DrainResult
  let failoverDefault: FailoverResult
  try {
    const h = await loadAll(bc)
    const model = bc.models.names[0]!
    const holderId = [...h].find(([, ms]) => ms.includes(model))![0]
    forwarding = await measureForwarding(bc, { model, holderId, connections: CONNECTIONS, pairs, seconds, progress: ctx.progress })
    // one connection: the hop itself, without the queueing that CPU contention adds under load
    forwarding1 = await measureForwarding(bc, { model, holderId, connections: 1, pairs: 3, seconds: 3, progress: (l) => ctx.progress(`1 connection: ${l}`) })

    const [drainId, drainModels] = busiest(await holdings(bc.cluster.instances[0]!.url), bc.cluster.instances.map((x) => x.id))
    drain = await measureDrain(bc, { victimId: drainId, models: drainModels, connections: CONNECTIONS, beforeSeconds: seconds, progress: ctx.progress })
    await bc.cluster.restart(bc.cluster.instances.findIndex((x) => x.id === drainId))
  } finally {
    await bc.stop()
  }
  // each failover on a fresh cluster, so the victim's models are placed as on a first start
  failoverDefault = await failoverRun(ctx, "ttl-default", [])
  const failover3s = await failoverRun(ctx, "ttl-3s", ["--lease-ttl", "3s"])
  return summarise({ forwarding, forwarding1, drain, failoverDefault, failover3s, pairs, seconds })
}

const summarise = (r: {
  forwarding: ForwardingRun[]
  forwarding1: ForwardingRun[]
  drain: DrainResult
  failoverDefault: FailoverResult
  failover3s: FailoverResult
  pairs: number
  seconds: number
}): { figures: Figure[]; notes: string[]; sections: Section[] } => {
  const group = "cluster"
  const side = (s: ForwardingRun["side"], k: "p50Us" | "p99Us") => r.forwarding.filter((x) => x.side === s).map((x) => x[k])
  const d = r.drain
  const ms = (us: number) => us / 1000
  const figures = [
    figureOf(
      { name: "clusterForwardP50DeltaMs", group, unit: "ms", better: "lower", threshold: null, thresholdKind: "absolute", target: { op: "<=", value: 0.5, source: "cluster issue (9)" }, description: "p50 through a non-holder − p50 straight to the holder, per interleaved pair" },
      pairDeltasMs(r.forwarding, "p50Us")
    ),
    figureOf({ name: "clusterForwardP99DeltaMs", group, unit: "ms", better: "lower", threshold: null, thresholdKind: "absolute", description: "p99 through a non-holder − p99 straight to the holder, per pair" }, pairDeltasMs(r.forwarding, "p99Us")),
    figureOf({ name: "clusterForwardP50DeltaMs1Conn", group, unit: "ms", better: "lower", threshold: null, thresholdKind: "absolute", description: "the p50 delta with a single connection (no queueing)" }, pairDeltasMs(r.forwarding1, "p50Us")),
    figureOf({ name: "clusterDirectP50Us", group, unit: "µs", better: "lower", threshold: null }, side("direct", "p50Us")),
    figureOf({ name: "clusterForwardedP50Us", group, unit: "µs", better: "lower", threshold: null }, side("forwarded", "p50Us")),
    figureOf({ name: "clusterDirectP99Us", group, unit: "µs", better: "lower", threshold: null }, side("direct", "p99Us")),
    figureOf({ name: "clusterForwardedP99Us", group, unit: "µs", better: "lower", threshold: null }, side("forwarded", "p99Us")),
    figureOf({ name: "clusterForwardFailures", group, unit: "responses", better: "lower", threshold: null, thresholdKind: "absolute", target: { op: "<=", value: 0, source: "cluster issue (9)" } }, [r.forwarding.reduce((s, x) => s + x.failures, 0)]),
    figureOf({ name: "clusterDrainP99BeforeMs", group, unit: "ms", better: "lower", threshold: null, thresholdKind: "absolute", description: "p99 of requests for the draining instance's models, via the others, before SIGTERM" }, [ms(d.beforeP99Us)]),
    figureOf({ name: "clusterDrainP99DuringMs", group, unit: "ms", better: "lower", threshold: null, thresholdKind: "absolute", description: "the same, from SIGTERM until 1 s after the process exited" }, [ms(d.duringP99Us)]),
    figureOf({ name: "clusterDrainFailures", group, unit: "responses", better: "lower", threshold: null, thresholdKind: "absolute", target: { op: "<=", value: 0, source: "cluster issue (9)" }, description: "non-2xx and connection errors before and during the drain" }, [d.failures]),
    figureOf({ name: "clusterDrainSeconds", group, unit: "s", better: "lower", threshold: null, thresholdKind: "absolute", description: "SIGTERM until the process exited" }, [d.drainSeconds]),
    figureOf({ name: "clusterFailoverSecondsLeaseTtl10s", group, unit: "s", better: "lower", threshold: null, thresholdKind: "absolute", description: "kill -9 until every model the instance held answers through the survivors, default --lease-ttl (10 s)" }, [r.failoverDefault.seconds]),
    figureOf({ name: "clusterFailoverSecondsLeaseTtl3s", group, unit: "s", better: "lower", threshold: null, thresholdKind: "absolute", description: "the same with --lease-ttl 3s" }, [r.failover3s.seconds])
  ].filter((f): f is Figure => f !== undefined)
  const notes: string[] = []
  for (const [name, f] of [["default lease TTL", r.failoverDefault], ["--lease-ttl 3s", r.failover3s]] as const)
    if (f.unanswered.length > 0) notes.push(`cluster: failover (${name}): ${f.unanswered.length} of ${f.models} models never answered within 60 s: ${f.unanswered.join(", ")}`)
  if (d.failures > 0) notes.push(`cluster: ${d.failures} failed requests around the drain, e.g. ${d.failureSamples.join(" | ")}`)
  const fwdRows = [...r.forwarding.map((x) => ({ ...x, c: CONNECTIONS })), ...r.forwarding1.map((x) => ({ ...x, c: 1 }))].map((x) => [x.c, `${x.pair + 1}`, x.side, x.p50Us, x.p99Us, Math.round(x.reqPerSec), x.failures])
  const foRow = (name: string, f: FailoverResult) => [name, f.models, fmt(f.firstSeconds), Number.isNaN(f.seconds) ? `> 60 (${f.unanswered.length} never)` : fmt(f.seconds)]
  return {
    figures,
    notes,
    sections: [
      {
        heading: "Cluster mode: forwarding",
        text:
          `${INSTANCES} \`meshkit serve --etcd\` instances and one etcd on loopback, models of ${SIZE} with maxCopies 1, ${CONNECTIONS} keep-alive connections, ` +
          `${r.pairs} pairs of ${r.seconds} s runs in ABBA order: straight to the model's holder (direct) or through another instance (forwarded). ` +
          "Then 3 pairs of 3 s with a single connection. Latency per response in µs (hrtime, HDR histogram) measured by the bench process.",
        table: { columns: ["connections", "pair", "path", "p50 µs", "p99 µs", "req/s", "failures"], rows: fwdRows }
      },
      {
        heading: "Cluster mode: drain and failover",
        text:
          `Drain: SIGTERM to the instance holding the most models (${d.models}), load on those models sent through the other instances; ` +
          `it exited after ${fmt(d.drainSeconds)} s. Failover: kill -9 of the instance holding the most models on a fresh cluster, each of its models polled through the survivors every 100 ms.`,
        table: {
          columns: ["", "p50 ms", "p99 ms", "max ms", "failures"],
          rows: [
            ["drain: before SIGTERM", fmt(ms(d.beforeP50Us)), fmt(ms(d.beforeP99Us)), "", ""],
            [`drain: during (${d.requestsDuring} requests)`, fmt(ms(d.duringP50Us)), fmt(ms(d.duringP99Us)), fmt(ms(d.duringMaxUs)), d.failures]
          ]
        }
      },
      {
        heading: "Cluster mode: failover after kill -9",
        text: "Seconds from the kill until the first and the last of the killed instance's models answered 200 again.",
        table: { columns: ["lease TTL", "models", "first s", "all s"], rows: [foRow("10 s (default)", r.failoverDefault), foRow("3 s", r.failover3s)] }
      }
    ]
  }
}
