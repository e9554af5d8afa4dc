import { createHash } from "node:crypto"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Section } from "@meshkit/report"
import { fmt } from "../compare/compare.js"
import { figureOf, type Figure } from "../report/figures.js"
import { runLoad, type LoadResult } from "../harness/load.js"
import { cpuMsOf } from "../report/machine.js"
import type { Part } from "../report/parts.js"
import { inferBody, inputOf, makeModels, startBare, startMeshkit, timedInfer, type RunningServer } from "../harness/servers.js"

/**
 * The server's hit path against the bare baseline: one small model, resident, 64 connections.
 * Both servers stay up for the whole part (each a child process: one core for the server, one for
 * autocannon in this process) and take turns under load in ABBA order (B M M B B M ...), so slow
 * drift of a shared machine falls on both equally; each figure is a per-pair ratio or difference,
 * then the median over pairs.
 *
 * Auth on vs off: a third server, the same binary with a tenants file, owns the model through a
 * tenant whose token the load sends (`Authorization: Bearer`, hashed and looked up per request,
 * the visibility check and the tenant's in-flight limiter): its throughput ÷ the open meshkit's,
 * per round, is the cost of tenancy on the hit path (target ≤ 3 %).
 */

const CONNECTIONS = 64

type Run = LoadResult & { readonly serverCpu: number }
type Which = "bare" | "meshkit" | "auth"
const BENCH_TOKEN = "bench-tenant-token-0123456789abcdef"

export const hitPathPart: Part = async (ctx) => {
  const pairs = ctx.quick ? 3 : 5
  const seconds = ctx.quick ? 5 : 10
  const dir = join(ctx.workDir, "hit-models")
  mkdirSync(dir, { recursive: true })
  const models = await makeModels(dir, { count: 1, size: "256KiB", prefix: "hit" })
  const model = models.names[0]!
  const input = await inputOf(models.files[0]!)
  const body = inferBody(input.name, input.dim)
  ctx.progress(`model ${model} (256 KiB, input [1, ${input.dim}]), ${pairs} pairs × ${seconds} s, ${CONNECTIONS} connections`)

  // The model belongs to the tenant (the open server ignores the tenant field).
  writeFileSync(join(dir, `${model}.json`), JSON.stringify({ tenant: "bench" }))
  const tenantsFile = join(ctx.workDir, "hit-tenants.yaml")
  const digest = (t: string) => createHash("sha256").update(t).digest("hex")
  writeFileSync(
    tenantsFile,
    `admin: { tokenSha256: "${digest("bench-admin-token")}" }\ntenants:\n  - { id: bench, tokenSha256: "${digest(BENCH_TOKEN)}", maxConcurrency: 100000 }\n`
  )
  const auth = { authorization: `Bearer ${BENCH_TOKEN}` }

  const bare = await startBare(models.files[0]!)
  let meshkit: RunningServer | undefined
  let authed: RunningServer | undefined
  try {
    meshkit = await startMeshkit({ models: dir, memory: "256MiB", dataDir: join(ctx.workDir, "hit-data") })
    authed = await startMeshkit({ models: dir, memory: "256MiB", dataDir: join(ctx.workDir, "hit-data-auth"), extra: ["--tenants", tenantsFile] })
    const servers = { bare, meshkit, auth: authed } as const
    const headersOf = (which: Which) => (which === "auth" ? auth : {})
    // first request loads the model on meshkit (that is the miss path, measured elsewhere)
    for (const [which, s] of Object.entries(servers) as Array<[Which, RunningServer]>) {
      const r = await timedInfer(s.inferUrl(model), body, headersOf(which))
      if (r.status !== 200) throw new Error(`${which === "bare" ? "bare-server" : which} answered ${r.status} to a valid request: ${r.text.slice(0, 300)}`)
    }
    for (const [which, s] of Object.entries(servers) as Array<[Which, RunningServer]>) {
      await runLoad({ url: s.inferUrl(model), connections: CONNECTIONS, durationSeconds: 2, body, headers: headersOf(which) })
    }

    const runs: { bare: Run[]; meshkit: Run[]; auth: Run[] } = { bare: [], meshkit: [], auth: [] }
    for (let i = 0; i < pairs; i++) {
      const order: ReadonlyArray<Which> = i % 2 === 0 ? ["bare", "meshkit", "auth"] : ["auth", "meshkit", "bare"]
      for (const which of order) {
        // the server's CPU use during the run shows which side was the bottleneck (≈ 100 %: the server)
        const pid = servers[which].child.pid
        const cpu0 = cpuMsOf(pid)
        const t0 = performance.now()
        const r = await runLoad({ url: servers[which].inferUrl(model), connections: CONNECTIONS, durationSeconds: seconds, body, headers: headersOf(which) })
        const cpu1 = cpuMsOf(pid)
        const serverCpu = cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) / (performance.now() - t0) : NaN
        runs[which].push({ ...r, serverCpu })
        ctx.progress(`pair ${i + 1}/${pairs} ${which.padEnd(7)} ${fmt(r.throughput)} req/s, p50 ${r.latencyUs.p50} µs, p99 ${r.latencyUs.p99} µs, server CPU ${fmt(serverCpu * 100)} %${r.ok !== r.responses || r.errors ? `, ${r.responses - r.ok} non-2xx, ${r.errors} errors` : ""}`)
      }
    }
    return summarise(runs, { model, dim: input.dim, pairs, seconds })
  } finally {
    await Promise.all([bare.child.stop(), meshkit?.child.stop(), authed?.child.stop()])
  }
}

const summarise = (
  runs: { bare: ReadonlyArray<Run>; meshkit: ReadonlyArray<Run>; auth: ReadonlyArray<Run> },
  o: { model: string; dim: number; pairs: number; seconds: number }
): { figures: Figure[]; notes: string[]; sections: Section[] } => {
  const { bare, meshkit, auth } = runs
  const idx = bare.map((_, i) => i)
  const group = "server-hit"
  const figures = [
    figureOf(
      { name: "hitThroughputRatio", group, unit: "×", better: "higher", threshold: 0.3, target: { op: ">=", value: 0.85, source: "server issue" }, description: "meshkit req/s ÷ bare req/s, per pair" },
      idx.map((i) => meshkit[i]!.throughput / bare[i]!.throughput)
    ),
    // p99 gated as a ratio: a difference in ms scales with the machine's speed and load (−0.7…+0.4 ms
    // on an AMD EPYC, +7 ms on a busy Intel Xeon, unchanged code); the ratio was 0.97–1.44
    figureOf(
      { name: "hitP99Ratio", group, unit: "×", better: "lower", threshold: 1, description: "meshkit p99 ÷ bare p99, per pair" },
      idx.map((i) => meshkit[i]!.latencyUs.p99 / bare[i]!.latencyUs.p99)
    ),
    figureOf(
      { name: "hitP99DeltaMs", group, unit: "ms", better: "lower", threshold: null, thresholdKind: "absolute", target: { op: "<=", value: 1, source: "server issue" }, description: "meshkit p99 − bare p99, per pair" },
      idx.map((i) => (meshkit[i]!.latencyUs.p99 - bare[i]!.latencyUs.p99) / 1000)
    ),
    figureOf({ name: "hitP50DeltaMs", group, unit: "ms", better: "lower", threshold: null, thresholdKind: "absolute", description: "meshkit p50 − bare p50, per pair" }, idx.map((i) => (meshkit[i]!.latencyUs.p50 - bare[i]!.latencyUs.p50) / 1000)),
    figureOf(
      { name: "hitNon2xx", group, unit: "responses", better: "lower", threshold: 0, thresholdKind: "absolute", description: "meshkit responses that were not 2xx, plus connection errors, over all runs" },
      [meshkit.reduce((s, r) => s + (r.responses - r.ok) + r.errors, 0)]
    ),
    figureOf(
      { name: "hitAuthThroughputRatio", group, unit: "×", better: "higher", threshold: 0.3, target: { op: ">=", value: 0.97, source: "issue 10" }, description: "meshkit with a tenants file (bearer token per request) req/s ÷ open meshkit req/s, per round" },
      idx.map((i) => auth[i]!.throughput / meshkit[i]!.throughput)
    ),
    // On a shared machine the servers are often CPU-starved (server CPU well below 100 %): requests per
    // server CPU-second compares what each request costs, whatever share of a core each run got.
    figureOf(
      { name: "hitAuthCpuEfficiencyRatio", group, unit: "×", better: "higher", threshold: null, target: { op: ">=", value: 0.97, source: "issue 10" }, description: "meshkit with a tenants file: requests per server CPU-second ÷ open meshkit's, per round" },
      idx.map((i) => auth[i]!.throughput / auth[i]!.serverCpu / (meshkit[i]!.throughput / meshkit[i]!.serverCpu))
    ),
    figureOf(
      { name: "hitAuthP99Ratio", group, unit: "×", better: "lower", threshold: 1, description: "meshkit with a tenants file p99 ÷ open meshkit p99, per round" },
      idx.map((i) => auth[i]!.latencyUs.p99 / meshkit[i]!.latencyUs.p99)
    ),
    figureOf({ name: "hitThroughputBare", group, unit: "req/s", better: "higher", threshold: null, digits: 4 }, bare.map((r) => r.throughput)),
    figureOf({ name: "hitThroughputMeshkit", group, unit: "req/s", better: "higher", threshold: null, digits: 4 }, meshkit.map((r) => r.throughput)),
    figureOf({ name: "hitP99BareUs", group, unit: "µs", better: "lower", threshold: null }, bare.map((r) => r.latencyUs.p99)),
    figureOf({ name: "hitP99MeshkitUs", group, unit: "µs", better: "lower", threshold: null }, meshkit.map((r) => r.latencyUs.p99))
  ].filter((f): f is Figure => f !== undefined)
  const notes = bare.some((r) => r.ok !== r.responses || r.errors > 0) ? ["hit: the bare baseline answered some requests with non-2xx or errors"] : []
  const row = (i: number, name: string, r: Run) => [`${i + 1}`, name, fmt(r.throughput), r.latencyUs.p50, r.latencyUs.p99, r.latencyUs.p999, r.responses - r.ok, `${fmt(r.serverCpu * 100)} %`]
  const rows = idx.flatMap((i) => [row(i, "bare", bare[i]!), row(i, "meshkit", meshkit[i]!), row(i, "meshkit+auth", auth[i]!)])
  const last = o.pairs - 1
  return {
    figures,
    notes,
    sections: [
      {
        heading: "Server hit path",
        text:
          `Model ${o.model} (256 KiB MLP, FP32 input [1, ${o.dim}]) resident; ${CONNECTIONS} connections, ${o.seconds} s per run, ${o.pairs} pairs in ABBA order. ` +
          "Baseline: a bare node:http + onnxruntime-node server on the same model and JSON protocol, same ORT session options. " +
          "Latency per response in µs (hrtime, HDR histogram), load generator in the bench process, each server a separate child process. " +
          "Server CPU: the server process's CPU time during the run ÷ its length (near 100 % = one core busy: the server, not the load generator, is the bottleneck). " +
          "meshkit+auth: the same binary with a tenants file; every request carries a tenant's bearer token (sha256 + digest lookup, visibility check, in-flight limiter).",
        table: { columns: ["pair", "server", "req/s", "p50 µs", "p99 µs", "p99.9 µs", "non-2xx", "server CPU"], rows },
        charts: [
          {
            id: "hit-latency",
            title: `Hit-path latency by percentile (pair ${o.pairs})`,
            xLabel: "percentile",
            yLabel: "latency (µs)",
            yLog: true,
            series: [
              { name: "bare", points: bare[last]!.percentiles },
              { name: "meshkit", points: meshkit[last]!.percentiles },
              { name: "meshkit+auth", points: auth[last]!.percentiles }
            ]
          },
          {
            id: "hit-throughput",
            title: "Throughput per run",
            xLabel: "pair",
            yLabel: "req/s",
            kind: "bar",
            xTicks: idx.map((i) => `pair ${i + 1}`),
            series: [
              { name: "bare", points: idx.map((i) => [i, bare[i]!.throughput] as const) },
              { name: "meshkit", points: idx.map((i) => [i, meshkit[i]!.throughput] as const) },
              { name: "meshkit+auth", points: idx.map((i) => [i, auth[i]!.throughput] as const) }
            ]
          }
        ]
      }
    ]
  }
}
