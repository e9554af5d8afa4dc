import { mkdirSync } from "node:fs"
import { join } from "node:path"
import type { Section } from "@meshkit/report"
import { fmt } from "../compare/compare.js"
import { runLoad } from "../harness/load.js"
import { fetchMetrics, firstOf } from "../harness/prometheus.js"
import { inferBody, inputOf, makeModels, startMeshkit } from "../harness/servers.js"
import { figureOf, type Figure } from "../report/figures.js"
import { cpuMsOf, rssOf } from "../report/machine.js"
import type { PartContext, PartResult } from "../report/parts.js"
import { zipfSampler } from "./zipf.js"

/**
 * Memory under load/unload churn: far more models than fit, requested uniformly at random, so
 * almost every request loads one and evicts another. Resident memory must stay within the budget
 * plus a stated overhead over the idle, just-started server — with the server's defaults. The
 * same run with `--heap-trim false` beside it shows what the heap governor saves and costs.
 */

const MODELS = 60
const SIZE = "2MiB"
const BUDGET_MIB = 32
/** the stated overhead beyond the budget (issue 11: budget + 48 MiB) */
export const CHURN_OVERHEAD_MIB = 48
const CLIENTS = 8
const MIB = 2 ** 20

interface ChurnRun {
  readonly idleMiB: number
  readonly peakMiB: number
  readonly endMiB: number
  readonly ok: number
  readonly responses: number
  readonly errors: number
  readonly throughput: number
  readonly trims: number
  /** the server's CPU time (user + system) per 2xx response, ms: less moved by other work on the machine than req/s */
  readonly cpuMsPerOk: number
  readonly rss: ReadonlyArray<readonly [number, number]>
}

export const churnPart = async (ctx: PartContext): Promise<PartResult> => {
  const seconds = ctx.quick ? 15 : 40
  const dir = join(ctx.workDir, "churn-models")
  mkdirSync(dir, { recursive: true })
  const models = await makeModels(dir, { count: MODELS, size: SIZE, prefix: "churn" })
  const input = await inputOf(models.files[0]!)
  const body = inferBody(input.name, input.dim)
  // trim on, off, and in a full run off, on again: the order does not favour either side
  const order = ctx.quick ? [true, false] : [true, false, false, true]
  const runs = { on: [] as ChurnRun[], off: [] as ChurnRun[] }
  for (const [i, trim] of order.entries()) {
    const r = await churnRun(ctx, models.names, body, trim, seconds, join(ctx.workDir, `churn-data-${i}`))
    ;(trim ? runs.on : runs.off).push(r)
    ctx.progress(
      `heap trim ${trim ? "on (default)" : "off"}: idle ${fmt(r.idleMiB)} MiB, peak +${fmt(r.peakMiB - r.idleMiB)} MiB, end +${fmt(r.endMiB - r.idleMiB)} MiB, ${fmt(r.throughput)} req/s, ${fmt(r.cpuMsPerOk)} CPU ms per 2xx, ${r.trims} trims`
    )
  }
  const growth = (rs: ChurnRun[]) => rs.map((r) => r.peakMiB - r.idleMiB)
  const ratio = runs.on.map((r, i) => r.throughput / Math.max(1e-9, runs.off[i]!.throughput))
  const cpuRatio = runs.on.map((r, i) => r.cpuMsPerOk / runs.off[i]!.cpuMsPerOk)
  const group = "density"
  const figures = [
    figureOf(
      {
        name: "churnRssGrowthMiB",
        group,
        unit: "MiB",
        better: "lower",
        threshold: 32,
        thresholdKind: "absolute",
        target: { op: "<=", value: BUDGET_MIB + CHURN_OVERHEAD_MIB, source: `issue 11: budget ${BUDGET_MIB} MiB + ${CHURN_OVERHEAD_MIB} MiB`, enforced: true },
        description: `peak VmRSS − idle VmRSS, ${MODELS} × ${SIZE} models, --memory ${BUDGET_MIB}MiB, ${CLIENTS} clients, defaults (heap trim on)`
      },
      growth(runs.on)
    ),
    figureOf({ name: "churnRssGrowthNoTrimMiB", group, unit: "MiB", better: "lower", threshold: null, description: "the same with --heap-trim false" }, growth(runs.off)),
    figureOf({ name: "churnThroughputRatio", group, unit: "×", better: "higher", threshold: null, description: "2xx per second, heap trim on ÷ off (the same run)" }, ratio),
    figureOf({ name: "churnCpuPerRequestRatio", group, unit: "×", better: "lower", threshold: null, description: "server CPU ms per 2xx response, heap trim on ÷ off (the same run)" }, cpuRatio)
  ].filter((f): f is Figure => f !== undefined)
  const all = [...runs.on.map((r) => ["on (default)", r] as const), ...runs.off.map((r) => ["off", r] as const)]
  const sections: Section[] = [
    {
      heading: "Memory under load/unload churn",
      text:
        `${MODELS} models of ${SIZE}, meshkit serve --memory ${BUDGET_MIB}MiB, ${CLIENTS} closed-loop clients on uniformly random models for ${seconds} s: nearly every request loads a model and evicts another. ` +
        `VmRSS sampled every 100 ms, against the idle just-started server. Goal: growth ≤ budget + ${CHURN_OVERHEAD_MIB} MiB = ${BUDGET_MIB + CHURN_OVERHEAD_MIB} MiB with the defaults; ` +
        `heap trim off beside it in the same run.`,
      table: {
        columns: ["heap trim", "idle RSS", "peak growth", "growth at the end", "req/s", "server CPU ms per 2xx", "2xx / responses", "trims"],
        rows: all.map(([label, r]) => [label, `${fmt(r.idleMiB)} MiB`, `${fmt(r.peakMiB - r.idleMiB)} MiB`, `${fmt(r.endMiB - r.idleMiB)} MiB`, fmt(r.throughput), fmt(r.cpuMsPerOk), `${r.ok} / ${r.responses + r.errors}`, r.trims])
      },
      charts: [
        {
          id: "churn-rss",
          title: "RSS growth over idle under churn",
          xLabel: "seconds",
          yLabel: "MiB over idle",
          series: [
            ...all.map(([label, r], i) => ({ name: `trim ${label} #${i + 1}`, points: r.rss })),
            { name: "budget + overhead", points: [[0, BUDGET_MIB + CHURN_OVERHEAD_MIB], [seconds, BUDGET_MIB + CHURN_OVERHEAD_MIB]] as const }
          ]
        }
      ]
    }
  ]
  const notes = runs.on.some((r) => r.ok < r.responses + r.errors) || runs.off.some((r) => r.ok < r.responses + r.errors) ? ["churn: some requests did not get a 2xx"] : []
  return { figures, notes, sections }
}

const churnRun = async (ctx: PartContext, names: ReadonlyArray<string>, body: string, trim: boolean, seconds: number, dataDir: string): Promise<ChurnRun> => {
  const server = await startMeshkit({ models: join(ctx.workDir, "churn-models"), memory: `${BUDGET_MIB}MiB`, dataDir, extra: ["--heap-trim", String(trim), "--log-level", "warn"] })
  try {
    const pid = server.child.pid
    await new Promise((r) => setTimeout(r, 1000))
    const idle = rssOf(pid) ?? NaN
    // uniform, not skewed: s = 0 gives every model the same weight
    const pick = zipfSampler(names.length, 0, 11)
    const paths = names.map((n) => new URL(server.inferUrl(n)).pathname)
    const rss: Array<readonly [number, number]> = []
    let peak = idle
    const started = performance.now()
    const sampler = setInterval(() => {
      const v = rssOf(pid)
      if (v === undefined) return
      if (v > peak) peak = v
      rss.push([(performance.now() - started) / 1000, (v - idle) / MIB])
    }, 100)
    const cpu0 = cpuMsOf(pid) ?? NaN
    const load = await runLoad({ url: server.baseUrl + paths[0], connections: CLIENTS, durationSeconds: seconds, body, nextPath: () => paths[pick()]! }).finally(() => clearInterval(sampler))
    const end = rssOf(pid) ?? NaN
    const cpuMsPerOk = ((cpuMsOf(pid) ?? NaN) - cpu0) / Math.max(1, load.ok)
    const trims = firstOf(await fetchMetrics(server.baseUrl), ["meshkit_heap_trims_total"]) ?? 0
    return { idleMiB: idle / MIB, peakMiB: peak / MIB, endMiB: end / MIB, ok: load.ok, responses: load.responses, errors: load.errors, throughput: load.throughput, trims, cpuMsPerOk, rss }
  } finally {
    await server.child.stop()
  }
}
