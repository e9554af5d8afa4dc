import { cpus } from "node:os"
import { formatBytes } from "@meshkit/core"
import { formatDuration, formatNumber, formatPercent, type ChartSpec, type ReportSpec, type Section, type Series } from "@meshkit/report"
import { policyLabel } from "../engine/config.js"
import type { PolicyResult } from "../metrics/result.js"
import type { ScenarioRun, SweepPoint } from "../run/scenario-run.js"
import { answerSection } from "./answer.js"
import { latencySection, p9999Us } from "./latency-section.js"
import { sizeLabel } from "./size-label.js"
import { tenantSection } from "./tenant-section.js"

export interface ReportContext {
  readonly generatedAt: string
  /** the command line that produced it */
  readonly command: string
}

const GiB = 1024 ** 3
/** Fewer swept sizes than this draw a miss-ratio curve too coarse to read its knee. */
export const MIN_CURVE_SIZES = 8

/**
 * The simulator's report: the answer first (winner, margins, ties), then the comparison table, tail
 * latency, miss ratio against memory, timelines and per-tenant panels.
 */
export const buildReport = (run: ScenarioRun, ctx: ReportContext): ReportSpec => {
  const { loaded, mode, runs } = run
  const s = loaded.scenario
  const c = loaded.cluster
  const results = runs.map((r) => r.result)
  const first = results[0]
  const where = mode === "ideal" ? `one cache of ${sizeLabel(c.memoryBytes)}` : `${c.instances} × ${sizeLabel(c.memoryBytes)}`
  const cdf = new Map(runs.map((r) => [r.result.policy, r.series.latencyCdf] as const))
  // the answer's sweep line compares policies at this run's instance count (a sweep may vary it)
  const ownCount = mode === "ideal" ? 1 : c.instances
  const answer = answerSection({ results, mode, where, sweep: run.sweep.filter((p) => p.instances === ownCount), cdf })
  const sections: Section[] = [...(answer ? [answer.section] : []), comparison(run)]
  if (mode === "full") sections.push(latencySection(run))
  if (run.sweep.length > 0) sections.push(sweepSection(run))
  sections.push(timelineSection(run))
  if (first && first.tenants.length > 1) sections.push(tenantSection(results, mode))
  return {
    title: `meshkit sim: ${loaded.name}`,
    ...(s.description ? { subtitle: s.description } : {}),
    generatedAt: ctx.generatedAt,
    facts: [
      ["scenario", loaded.file],
      ["trace", `${traceName(loaded)}${first ? ` — ${formatNumber(first.requests, 0)} requests` : ""}`],
      ["mode", mode === "ideal" ? "ideal (one cache, zero load and execution time)" : "full (timing, placement, routing, scaling)"],
      [
        "cluster",
        mode === "ideal"
          ? `one cache of ${formatBytes(c.memoryBytes)}`
          : `${c.instances} × ${formatBytes(c.memoryBytes)}, ${c.maxConcurrentLoads} load slots each, load ${c.loadFixedMs} ms + size / ${formatBytes(c.loadBytesPerSecond)}/s, ` +
            `unload ${c.unloadMs} ms, ${c.modelConcurrency} concurrent requests per copy, ≤ ${c.maxCopies} copies`
      ],
      ...(mode === "full"
        ? ([
            [
              "policies",
              `placement ${policyLabel(s.policies.placement)}, routing ${policyLabel(s.policies.routing)}, scaling ${policyLabel(s.policies.scaling)}`
            ],
            ["SLO", `${s.slo.latencyMs} ms`]
          ] as const)
        : []),
      [
        "tenant shares",
        s.tenants.length === 0
          ? "none"
          : s.tenants.map((t) => `${t.id} ${"bytes" in t.memory ? formatBytes(t.memory.bytes) : formatPercent(t.memory.fraction, 0)}`).join(", ") + " of each instance"
      ],
      ["seed", String(s.seed)],
      ["command", ctx.command],
      ["machine", `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, Node ${process.version}`]
    ],
    sections
  }
}

const traceName = (l: ScenarioRun["loaded"]): string => {
  const t = l.scenario.trace
  if (t.csv) return `CSV ${t.csv.path}`
  if (t.azure) return `Azure Functions 2019 (${t.azure.dir ?? t.azure.invocations}${t.azure.minutes ? `, first ${t.azure.minutes} min` : ""})`
  if (t.mix)
    return `mix of ${t.mix.length} generated parts: ${t.mix.map((g) => `${g.models} models of ${g.tenants} ${g.tenantPrefix}* tenants at ${g.rate} req/s`).join("; ")}`
  const g = t.generate!
  return `generated: ${g.models} models, ${g.tenants} tenants, ${g.arrival} arrivals, Zipf ${g.zipf}, ${g.rate} req/s (seed ${g.seed})`
}

const us = (v: number): string => formatDuration(v / 1000)

const comparison = (run: ScenarioRun): Section => {
  const results = run.runs.map((r) => r.result)
  const full = run.mode === "full"
  const columns = [
    "policy",
    "miss ratio",
    "byte miss ratio",
    "cold starts",
    ...(full ? ["cold-start s", "p50", "p99", "p99.9", "p99.99", "SLO met", "fairness"] : []),
    "peak memory",
    "mean memory",
    "loads",
    "evictions",
    ...(results.some((r) => r.failed > 0) ? ["failed"] : [])
  ]
  const rows = run.runs.map(({ result: r, series }) => [
    r.policy,
    r.missRatio.toFixed(4),
    r.byteMissRatio.toFixed(4),
    formatNumber(r.coldStarts, 0),
    ...(full
      ? [
          formatNumber(r.coldStartSeconds, 1),
          us(r.latencyUs.p50),
          us(r.latencyUs.p99),
          us(r.latencyUs.p999),
          us(p9999Us(series.latencyCdf) ?? 0),
          formatPercent(r.sloAttainment, 2),
          r.fairness.toFixed(3)
        ]
      : []),
    formatBytes(r.peakMemoryBytes),
    formatBytes(r.meanMemoryBytes),
    formatNumber(r.loads, 0),
    formatNumber(r.evictions, 0),
    ...(results.some((x) => x.failed > 0) ? [formatNumber(r.failed, 0)] : [])
  ])
  const best = [...results].sort((a, b) => a.missRatio - b.missRatio)[0]
  const bestCold = full ? [...results].sort((a, b) => a.coldStartSeconds - b.coldStartSeconds)[0] : undefined
  return {
    heading: "Comparison",
    text:
      `Fairness is Jain's index over the tenants' SLO attainment (1 = every tenant alike). ` +
      `A miss is a request that found no copy of its model and no load of it under way (it triggered a load or, for a model larger than every instance, failed); a cold start is a request that waited for a load, and cold-start seconds add up those waits. Memory is what models reserve across the cluster (resident or loading).` +
      (best ? `\n\nLowest miss ratio: ${best.policy} (${best.missRatio.toFixed(4)}).` : "") +
      (bestCold ? ` Fewest cold-start seconds: ${bestCold.policy} (${formatNumber(bestCold.coldStartSeconds, 1)} s).` : ""),
    table: { columns, rows }
  }
}

const sweepSection = (run: ScenarioRun): Section => {
  // A sweep over instance counts too: one curve per policy and instance count ("lru ×4").
  const counts = new Set(run.sweep.map((p) => p.instances))
  const curveOf = (p: SweepPoint): string => (counts.size > 1 ? `${p.policy} ×${p.instances}` : p.policy)
  const policies = [...new Set(run.sweep.map(curveOf))]
  const sizes = [...new Set(run.sweep.map((p) => p.memoryBytes))].sort((a, b) => a - b)
  const seriesOf = (y: (p: SweepPoint) => number): Series[] =>
    policies.map((name) => ({
      name,
      points: run.sweep.filter((p) => curveOf(p) === name).map((p) => [p.memoryBytes / GiB, y(p)] as const)
    }))
  // As cache papers draw miss-ratio curves: memory on a log axis, ticks at the sizes that were run.
  const marks = sizes.map((m) => [m / GiB, sizeLabel(m)] as const)
  const charts: ChartSpec[] = [
    {
      id: "miss-ratio-vs-memory",
      title: "Miss ratio against memory (miss-ratio curve)",
      xLabel: "memory per instance",
      yLabel: "miss ratio",
      xLog: true,
      xTickMarks: marks,
      series: seriesOf((p) => p.missRatio)
    }
  ]
  if (run.mode === "full") {
    charts.push(
      {
        id: "cold-start-seconds-vs-memory",
        title: "Cold-start seconds against memory",
        xLabel: "memory per instance",
        yLabel: "cold-start seconds",
        xLog: true,
        yLog: true,
        xTickMarks: marks,
        series: seriesOf((p) => p.coldStartSeconds)
      },
      {
        id: "p99-vs-memory",
        title: "p99 latency against memory",
        xLabel: "memory per instance",
        yLabel: "p99 latency (ms)",
        xLog: true,
        yLog: true,
        yFormat: "duration-ms",
        xTickMarks: marks,
        series: seriesOf((p) => p.p99Us / 1000).map((s) => ({ ...s, points: s.points.filter(([, y]) => y > 0) }))
      }
    )
  }
  const coarse =
    sizes.length < MIN_CURVE_SIZES
      ? ` Only ${sizes.length} sizes were swept: give sweep.memory at least ${MIN_CURVE_SIZES} sizes for a curve whose knee can be read.`
      : ""
  return {
    heading: "Miss ratio against memory",
    text: `The same trace replayed with each memory size per instance (the sweep, ${sizes.length} sizes from ${sizeLabel(sizes[0]!)} to ${sizeLabel(sizes[sizes.length - 1]!)}), memory on a log axis.${coarse}`,
    table: {
      columns: ["policy", ...sizes.map((m) => sizeLabel(m))],
      rows: policies.map((name) => [
        name,
        ...sizes.map((m) => run.sweep.find((p) => curveOf(p) === name && p.memoryBytes === m)?.missRatio.toFixed(4) ?? "")
      ])
    },
    charts
  }
}

const timelineSection = (run: ScenarioRun): Section => {
  const minutes = (origin: number, bucket: number, i: number) => (origin + (i + 0.5) * bucket) / 60_000
  const memory: Series[] = run.runs.map((r) => {
    const t = r.series.timeline
    return { name: r.result.policy, points: t.memoryMeanBytes.map((b, i) => [minutes(t.originMs, t.bucketMs, i), b / GiB] as const) }
  })
  const cold: Series[] = run.runs.map((r) => {
    const t = r.series.timeline
    const perMinute = 60_000 / t.bucketMs
    return { name: r.result.policy, points: t.coldStarts.map((n, i) => [minutes(t.originMs, t.bucketMs, i), n * perMinute] as const) }
  })
  return {
    heading: "Over time",
    text: "Memory reserved by models across the cluster (time-weighted mean per interval) and cold starts per minute, by request arrival time.",
    charts: [
      { id: "memory-over-time", title: "Memory over time", xLabel: "time (minutes)", yLabel: "memory (GiB)", series: memory },
      { id: "cold-starts-over-time", title: "Cold starts over time", xLabel: "time (minutes)", yLabel: "cold starts per minute", series: cold }
    ]
  }
}
