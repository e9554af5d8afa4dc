import { mkdir, rename, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { writeReport } from "@meshkit/report"
import type { ScenarioRun } from "../run/scenario-run.js"
import { buildReport, type ReportContext } from "./build.js"

export interface WrittenSimReport {
  readonly dir: string
  readonly json: string
  readonly html: string
  readonly markdown: string
}

/** The machine-readable twin of the report: every result, the sweep and the chart series. */
export const reportJson = (run: ScenarioRun, ctx: ReportContext) => ({
  scenario: run.loaded.name,
  file: run.loaded.file,
  description: run.loaded.scenario.description,
  generatedAt: ctx.generatedAt,
  command: ctx.command,
  mode: run.mode,
  seed: run.loaded.scenario.seed,
  trace: run.loaded.source,
  cluster: run.loaded.cluster,
  policies: run.loaded.scenario.policies,
  slo: run.loaded.scenario.slo,
  results: run.runs.map((r) => r.result),
  sweep: run.sweep,
  series: Object.fromEntries(run.runs.map((r) => [r.result.policy, r.series]))
})

/** reports/<scenario>/report.json, report.md and a self-contained report.html. */
export const writeSimReport = async (dir: string, run: ScenarioRun, ctx: ReportContext): Promise<WrittenSimReport> => {
  await mkdir(dir, { recursive: true })
  const json = join(dir, "report.json")
  const partial = `${json}.partial-${process.pid}`
  await writeFile(partial, JSON.stringify(reportJson(run, ctx), null, 2) + "\n", "utf8")
  await rename(partial, json)
  const { html, markdown } = await writeReport(dir, buildReport(run, ctx))
  return { dir, json, html, markdown }
}
