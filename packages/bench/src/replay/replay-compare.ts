import { appendFileSync } from "node:fs"
import { dirname, join, basename } from "node:path"
import { writeReport, type ReportSpec } from "@meshkit/report"
import type { ReplayReport, ReplaySide, ReplayThresholds } from "./replay-report.js"

/**
 * A replay's two sides as a verdict: one row per figure (base, new, change, threshold, ✓/✗),
 * gated by the scenario's `regression` thresholds; the Markdown fits a pull-request comment and
 * is appended to $GITHUB_STEP_SUMMARY when that is set; the HTML report goes beside the file.
 */
export interface ReplayRow {
  readonly figure: string
  readonly base: string
  readonly next: string
  readonly change: string
  readonly threshold: string
  readonly verdict: "ok" | "regressed" | "not-gated"
}

const ms = (us: number) => (us >= 100_000 ? `${(us / 1000).toFixed(0)} ms` : us >= 10_000 ? `${(us / 1000).toFixed(1)} ms` : `${(us / 1000).toFixed(2)} ms`)
const pct = (r: number | null) => (r === null ? "–" : `${(r * 100).toFixed(2)} %`)
const rel = (b: number, n: number) => (b === 0 ? (n === 0 ? "±0 %" : "new") : `${n >= b ? "+" : ""}${(((n - b) / b) * 100).toFixed(1)} %`)
const relLimit = (s: string) => Number(s.replace(/^\+/, "").replace(/%$/, "")) / 100
const ptLimit = (s: string) => Math.abs(Number(s.replace(/pt$/, ""))) / 100

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/**
 * new ÷ base for a latency percentile: the median over slices of the per-slice ratio (each
 * slice ran on both sides back to back, so a slice the machine slowed down counts once, not
 * for all its requests); the overall ratio when the report has no slices.
 */
export const latencyRatio = (base: ReplaySide, next: ReplaySide, key: "p50" | "p99" | "p999"): number => {
  const bs = base.slices ?? []
  const ns = next.slices ?? []
  if (bs.length > 0 && bs.length === ns.length) return median(bs.map((b, k) => ns[k]![key] / Math.max(1, b[key])))
  return next.latencyUs[key] / Math.max(1, base.latencyUs[key])
}

export const compareReplay = (r: ReplayReport): { rows: ReplayRow[]; failures: ReplayRow[] } => {
  const base = r.base
  const next = r.new
  const t: ReplayThresholds = r.thresholds
  const rows: ReplayRow[] = []
  const latency = (figure: string, key: "p50" | "p99" | "p999", limit: string | undefined) => {
    const ratio = latencyRatio(base!, next, key)
    const verdict = limit === undefined ? "not-gated" : ratio <= 1 + relLimit(limit) ? "ok" : "regressed"
    const change = `${ratio >= 1 ? "+" : ""}${((ratio - 1) * 100).toFixed(1)} %`
    rows.push({ figure, base: ms(base!.latencyUs[key]), next: ms(next.latencyUs[key]), change, threshold: limit ?? "–", verdict })
  }
  if (base !== undefined) {
    latency("latency p50", "p50", t.p50)
    latency("latency p99", "p99", t.p99)
    latency("latency p99.9", "p999", t.p999)
    const hb = base.hitRatio
    const hn = next.hitRatio
    const hitVerdict = t.hitRatio === undefined || hb === null || hn === null ? "not-gated" : hn >= hb - ptLimit(t.hitRatio) - 1e-12 ? "ok" : "regressed"
    rows.push({ figure: "hit ratio", base: pct(hb), next: pct(hn), change: hb === null || hn === null ? "–" : `${hn >= hb ? "+" : ""}${((hn - hb) * 100).toFixed(2)} pt`, threshold: t.hitRatio ?? "–", verdict: hitVerdict })
    const cb = base.coldStarts
    const cn = next.coldStarts
    rows.push({
      figure: "cold starts",
      base: cb === null ? "–" : String(cb),
      next: cn === null ? "–" : String(cn),
      change: cb === null || cn === null ? "–" : rel(cb, cn),
      threshold: t.coldStarts ?? "–",
      verdict: t.coldStarts === undefined || cb === null || cn === null ? "not-gated" : cn <= Math.max(cb * (1 + relLimit(t.coldStarts)), cb + 1) ? "ok" : "regressed"
    })
  }
  rows.push({
    figure: "errors",
    base: base === undefined ? "–" : String(base.errors),
    next: String(next.errors),
    change: base === undefined ? "–" : `${next.errors - base.errors >= 0 ? "+" : ""}${next.errors - base.errors}`,
    threshold: t.errors === undefined ? "–" : `≤ ${t.errors}`,
    verdict: t.errors === undefined ? "not-gated" : next.errors <= t.errors ? "ok" : "regressed"
  })
  // per tenant: shown, not gated (a tenant's few requests make a noisy p99)
  if (base !== undefined) {
    const baseOf = new Map(base.tenants.map((x) => [x.tenant, x]))
    for (const tn of [...next.tenants].sort((a, b) => b.requests - a.requests).slice(0, 8)) {
      const b = baseOf.get(tn.tenant)
      if (b === undefined) continue
      rows.push({ figure: `p99 · tenant ${tn.tenant} (${tn.requests} req)`, base: ms(b.latencyUs.p99), next: ms(tn.latencyUs.p99), change: rel(b.latencyUs.p99, tn.latencyUs.p99), threshold: "–", verdict: "not-gated" })
    }
  }
  return { rows, failures: rows.filter((x) => x.verdict === "regressed") }
}

const mark = (v: ReplayRow["verdict"]) => (v === "ok" ? "✓" : v === "regressed" ? "✗" : "")
const cell = (s: string) => s.replace(/\|/g, "\\|")

export const replayMarkdown = (r: ReplayReport, c = compareReplay(r)): string => {
  const s = r.settings
  const lines = [
    `### meshkit bench replay: ${cell(r.scenario)}`,
    "",
    r.base === undefined
      ? `new: ${cell(r.new.label)} (no --against: nothing to compare with)`
      : `base: ${cell(r.base.label)} · new: ${cell(r.new.label)} — ${s.requests} requests each, ${s.minutes} trace min in ${s.durationSeconds} s, ${s.slices} interleaved slices, load average ${s.loadAverage.toFixed(1)}`,
    "",
    "Latency: base and new over all requests; change: the median over slices of the per-slice ratio.",
    "",
    "| figure | base | new | change | threshold | |",
    "|:---|---:|---:|---:|---:|:-:|",
    ...c.rows.map((x) => `| ${cell(x.figure)} | ${x.base} | ${x.next} | ${x.change} | ${cell(x.threshold)} | ${mark(x.verdict)} |`),
    "",
    c.failures.length === 0 ? "**✓ no regression**" : `**✗ regression:** ${c.failures.map((x) => `${x.figure} ${x.change} (threshold ${x.threshold})`).join("; ")}`,
    ""
  ]
  return lines.join("\n")
}

const sideSeries = (name: string, side: ReplaySide) => ({ name, points: side.cdf.map(([us, f]) => [us / 1000, f] as const) })

export const replaySpec = (r: ReplayReport, c = compareReplay(r)): ReportSpec => ({
  title: `Replay: ${r.scenario}`,
  subtitle: r.base === undefined ? r.new.label : `${r.base.label} (base) vs ${r.new.label} (new)`,
  generatedAt: r.generatedAt,
  facts: [
    ["command", r.command],
    ["requests per side", String(r.settings.requests)],
    ["trace window", `${r.settings.minutes} min in ${r.settings.durationSeconds} s (×${r.settings.compress.toFixed(1)})`],
    ["eviction", r.settings.eviction],
    ["load average", r.settings.loadAverage.toFixed(2)]
  ],
  sections: [
    {
      heading: c.failures.length === 0 ? "Verdict: no regression" : "Verdict: regression",
      table: { columns: ["figure", "base", "new", "change", "threshold", ""], rows: c.rows.map((x) => [x.figure, x.base, x.next, x.change, x.threshold, mark(x.verdict)]) }
    },
    {
      heading: "Latency CDF",
      charts: [
        {
          id: "latency-cdf",
          title: "Latency per request",
          xLabel: "latency (ms)",
          yLabel: "fraction of requests ≤",
          xLog: true,
          kind: "step",
          series: [...(r.base !== undefined ? [sideSeries("base", r.base)] : []), sideSeries("new", r.new)]
        }
      ]
    }
  ]
})

/**
 * Print the table, append it to $GITHUB_STEP_SUMMARY when set, write FILE's .md/.html beside it;
 * 0 when nothing regressed, 1 on a regression.
 */
export const reportReplay = async (r: ReplayReport, file: string, out: { stdout: (s: string) => void; env?: NodeJS.ProcessEnv }): Promise<number> => {
  const c = compareReplay(r)
  const md = replayMarkdown(r, c)
  out.stdout(md)
  const summary = (out.env ?? process.env).GITHUB_STEP_SUMMARY
  if (summary) appendFileSync(summary, `${md}\n`)
  const written = await writeReport(dirname(file), replaySpec(r, c), { name: `${basename(file).replace(/\.json$/i, "")}-compare` })
  out.stdout(`\nHTML report: ${join(written.html)}\n`)
  return c.failures.length === 0 ? 0 : 1
}
