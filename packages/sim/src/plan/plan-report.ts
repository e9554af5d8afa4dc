import { mkdir, rename, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { formatBytes } from "@meshkit/core"
import { writeReport, type ChartSpec, type ReportSpec, type Section } from "@meshkit/report"
import { paretoFrontier } from "./frontier.js"
import { commandLine } from "./command.js"
import { planJson, type PlanEntry, type PlanResult } from "./plan-run.js"

const GiB = 1024 ** 3

const choiceText = (c: unknown): string => (typeof c === "string" ? c : JSON.stringify(c))
export const policiesText = (p: PlanEntry["policies"]): string =>
  `eviction ${choiceText(p.eviction[0])}, placement ${choiceText(p.placement)}, scaling ${choiceText(p.scaling)}, routing ${choiceText(p.routing)}`
const ms = (us: number) => `${+(us / 1000).toFixed(1)} ms`
const pct = (f: number) => `${+(f * 100).toFixed(3)} %`

/** Cost on the chart's x axis: GiB of total memory, or the price per hour. */
const costValue = (r: PlanResult, e: PlanEntry): number => (r.costModel.priced ? e.cost! : e.totalMemoryBytes / GiB)
const costAxis = (r: PlanResult): string => (r.costModel.priced ? "cost per hour" : "total memory (GiB)")

/** The one-paragraph answer: what to run, or that nothing met the objective and what came closest. */
export const planSummary = (r: PlanResult): string => {
  const limit = `p99 ≤ ${r.objective.sloP99Ms} ms` + (r.objective.maxColdStartRate !== undefined ? ` and cold starts ≤ ${pct(r.objective.maxColdStartRate)} of requests` : "")
  const one = (e: PlanEntry) =>
    `${e.instances} × ${formatBytes(e.memoryPerInstanceBytes)} (${formatBytes(e.totalMemoryBytes)} in all` +
    (e.cost !== undefined ? `, ${r.costModel.format(e.cost)}` : "") +
    `), ${policiesText(e.policies)}: p99 ${ms(e.p99Us)}, ${e.coldStarts.toLocaleString("en-US")} cold starts (${pct(e.coldStartRate)})`
  if (r.best) return `Cheapest configuration that meets ${limit}: ${one(r.best)}. ${r.simulations} simulations.`
  return `No configuration in the search space meets ${limit}. Closest: ${r.closest ? one(r.closest) : "none ran"}. ${r.simulations} simulations.`
}

const entryRow = (r: PlanResult, e: PlanEntry): Array<string | number> => [
  e.instances,
  formatBytes(e.memoryPerInstanceBytes),
  choiceText(e.policies.eviction[0]),
  choiceText(e.policies.placement),
  choiceText(e.policies.scaling),
  r.costModel.priced ? r.costModel.format(e.cost!) : formatBytes(e.totalMemoryBytes),
  +(e.p99Us / 1000).toFixed(1),
  e.coldStarts,
  e.meetsSlo ? "yes" : "no"
]
const ENTRY_COLUMNS = ["instances", "memory / instance", "eviction", "placement", "scaling", "cost", "p99 ms", "cold starts", "meets"]

/** Cost against one figure: the 2-D frontier of the simulated points (a staircase), and the limit as a line. */
const frontierChart = (r: PlanResult, id: string, title: string, yLabel: string, y: (e: PlanEntry) => number, limit?: number): ChartSpec => {
  const front = paretoFrontier(r.evaluated, [(e) => costValue(r, e), y]).sort((a, b) => costValue(r, a) - costValue(r, b))
  const xs = r.evaluated.map((e) => costValue(r, e))
  const series = [{ name: "Pareto frontier", points: front.map((e) => [costValue(r, e), y(e)] as const) }]
  if (r.best) series.push({ name: "recommended", points: [[costValue(r, r.best), y(r.best)] as const] })
  if (limit !== undefined && xs.length > 0) series.push({ name: "limit", points: [[Math.min(...xs), limit] as const, [Math.max(...xs), limit] as const] })
  return { id, title, xLabel: costAxis(r), yLabel, series }
}

export const planReportSpec = (r: PlanResult, ctx: { readonly generatedAt: string; readonly command: string }): ReportSpec => {
  const sections: Section[] = []
  const answer = r.best ?? r.closest
  sections.push({
    heading: r.best ? "Recommendation" : "No configuration meets the objective",
    text:
      planSummary(r) +
      (r.reproduce ? `\n\nReproduce it: ${commandLine(r.reproduce)}` : "") +
      (r.checks.length > 0
        ? "\n\n" +
          r.checks
            .map(
              (c) =>
                `At ${Math.round(c.factor * 100)} % of its memory (${formatBytes(c.entry.memoryPerInstanceBytes)} per instance) the same configuration ` +
                `${c.entry.meetsSlo ? "meets" : "misses"} the objective (p99 ${ms(c.entry.p99Us)})` +
                (c.asExpected ? "." : ` — not what a monotone response predicts: treat the recommendation with care.`)
            )
            .join(" ")
        : ""),
    ...(answer ? { table: { columns: ENTRY_COLUMNS, rows: [entryRow(r, answer)] } } : {})
  })
  const sloUs = r.objective.sloP99Ms
  sections.push({
    heading: "Pareto frontier",
    text: `Every simulated configuration that no other beats on ${r.costModel.name}, p99 and cold starts at once.`,
    charts: [
      frontierChart(r, "plan-cost-vs-p99", "p99 latency against cost", "p99 (ms)", (e) => e.p99Us / 1000, sloUs),
      frontierChart(r, "plan-cost-vs-cold-starts", "Cold starts against cost", "cold starts", (e) => e.coldStarts)
    ],
    table: { columns: ENTRY_COLUMNS, rows: r.frontier.map((e) => entryRow(r, e)) }
  })
  sections.push({
    heading: "What the search did",
    text:
      `${r.space.candidates} candidates (instances ${r.space.instances.min}..${r.space.instances.max} × ${r.space.candidates / (r.space.instances.max - r.space.instances.min + 1)} policy combinations), ` +
      `memory ${formatBytes(r.space.memory.min)}..${formatBytes(r.space.memory.max)} per instance on a grid of ${r.space.gridSizes} sizes ${Math.round(r.space.resolution * 100)} % apart. ` +
      `Bisection on memory per candidate assumes the objective is monotone in memory; candidates that could not beat a cheaper feasible one were cut short. ` +
      `${r.simulations} simulations where the whole grid is ${r.space.candidates * r.space.gridSizes}.`,
    table: {
      columns: ["instances", "eviction", "placement", "scaling", "outcome", "smallest memory that meets", "simulations"],
      rows: r.outcomes.map((o) => [
        o.instances,
        choiceText(o.policies.eviction[0]),
        choiceText(o.policies.placement),
        choiceText(o.policies.scaling),
        o.status,
        o.smallestMemoryBytes !== undefined ? formatBytes(o.smallestMemoryBytes) : "",
        o.simulations
      ])
    }
  })
  return {
    title: `Capacity plan: ${r.scenario}`,
    subtitle: planSummary(r),
    generatedAt: ctx.generatedAt,
    facts: [
      ["scenario", r.file],
      ["objective", `p99 ≤ ${r.objective.sloP99Ms} ms` + (r.objective.maxColdStartRate !== undefined ? `, cold starts ≤ ${pct(r.objective.maxColdStartRate)}` : "")],
      ["ranked by", r.costModel.name],
      ["simulations", String(r.simulations)],
      ["command", ctx.command]
    ],
    sections
  }
}

export interface WrittenPlanReport {
  readonly json: string
  readonly html: string
  readonly markdown: string
}

/** <dir>/plan.json, plan.md and plan.html. */
export const writePlanReport = async (dir: string, r: PlanResult, ctx: { readonly generatedAt: string; readonly command: string }): Promise<WrittenPlanReport> => {
  await mkdir(dir, { recursive: true })
  const json = join(dir, "plan.json")
  const partial = `${json}.partial-${process.pid}`
  await writeFile(partial, JSON.stringify({ ...planJson(r), generatedAt: ctx.generatedAt, evaluated: r.evaluated }, null, 2) + "\n", "utf8")
  await rename(partial, json)
  const { html, markdown } = await writeReport(dir, planReportSpec(r, ctx), { name: "plan" })
  return { json, html, markdown }
}
