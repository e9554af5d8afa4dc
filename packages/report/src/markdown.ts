import { escapeMarkdownCell, escapeMarkdownInline, escapeMarkdownParagraph } from "./escape.js"
import { formatNumber } from "./format.js"
import { readableTimestamp } from "./html.js"
import { drawable, droppedNote, type DrawableChart, type DrawableSeries } from "./points.js"
import { normaliseTable } from "./table.js"
import type { ChartSpec, ReportSpec, TableSpec } from "./types.js"

export interface MarkdownOptions {
  /** the HTML report the chart lines point to; "report.html" unless told */
  readonly htmlFile?: string
}

// A summary table longer than this would bury the text of a pull-request comment.
const MAX_SUMMARY_ROWS = 30

const gfmTable = (columns: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, align: ReadonlyArray<"left" | "right">): string => {
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map(escapeMarkdownCell).join(" | ")} |`
  const rule = `|${align.map((a) => (a === "right" ? "---:" : ":---")).join("|")}|`
  return [line(columns), rule, ...rows.map(line)].join("\n")
}

const renderTable = (table: TableSpec): string => {
  const t = normaliseTable(table)
  if (t.columns.length === 0) return "_Empty table._"
  return gfmTable(
    t.columns,
    t.rows.map((r) => r.map((c) => c.text)),
    t.align
  )
}

/** Inline code that survives backticks in the value (the fence is longer than any run inside). */
const codeSpan = (text: string): string => {
  const flat = text.replace(/\r?\n/g, " ")
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((r) => r.length))
  const fence = "`".repeat(longest + 1)
  const pad = flat.startsWith("`") || flat.endsWith("`") ? " " : ""
  return `${fence}${pad}${flat}${pad}${fence}`
}

const num = (v: number) => formatNumber(v, 2)

/** A step series whose y never decreases and tops out at 1 (or 100): read as a CDF, summarised by quantiles. */
const cdfScale = (d: DrawableChart): number | undefined => {
  if (d.kind !== "step") return undefined
  let top = -Infinity
  for (const s of d.series) {
    for (let i = 0; i < s.points.length; i++) {
      const y = s.points[i]![1]
      if (y < 0 || (i > 0 && y < s.points[i - 1]![1] - 1e-12)) return undefined
      top = Math.max(top, y)
    }
  }
  if (top === -Infinity) return undefined
  return top <= 1 + 1e-9 ? 1 : top <= 100 + 1e-9 ? 100 : undefined
}

const xAtQuantile = (s: DrawableSeries, q: number): string => {
  const hit = s.points.find((p) => p[1] >= q - 1e-9)
  return hit ? num(hit[0]) : "—"
}

const cdfSummary = (chart: ChartSpec, d: DrawableChart, scale: number): string => {
  const rows = d.series.map((s) =>
    s.points.length === 0
      ? [s.name, "—", "—", "—", "—"]
      : [s.name, xAtQuantile(s, 0.5 * scale), xAtQuantile(s, 0.9 * scale), xAtQuantile(s, 0.99 * scale), num(s.points[s.points.length - 1]![0])]
  )
  const x = chart.xLabel || "x"
  return gfmTable(["series", `p50 ${x}`, `p90 ${x}`, `p99 ${x}`, `max ${x}`], rows, ["left", "right", "right", "right", "right"])
}

const barSummary = (chart: ChartSpec, d: DrawableChart): string | undefined => {
  const count = Math.max(chart.xTicks?.length ?? 0, ...d.series.map((s) => s.points.reduce((m, p) => Math.max(m, p[0] + 1), 0)))
  if (count === 0 || count > MAX_SUMMARY_ROWS) return undefined
  const rows = Array.from({ length: count }, (_, i) => [
    String(chart.xTicks?.[i] ?? i),
    ...d.series.map((s) => {
      const p = s.points.find((q) => q[0] === i)
      return p ? num(p[1]) : "—"
    })
  ])
  return gfmTable([chart.xLabel || "category", ...d.series.map((s) => s.name)], rows, ["left", ...d.series.map(() => "right" as const)])
}

const lineSummary = (chart: ChartSpec, d: DrawableChart): string => {
  const rows = d.series.map((s) => {
    if (s.points.length === 0) return [s.name, "0", "—", "—", "—"]
    let xMin = Infinity
    let xMax = -Infinity
    let yMin = Infinity
    let yMax = -Infinity
    for (const [x, y] of s.points) {
      xMin = Math.min(xMin, x)
      xMax = Math.max(xMax, x)
      yMin = Math.min(yMin, y)
      yMax = Math.max(yMax, y)
    }
    const last = s.points[s.points.length - 1]!
    return [s.name, formatNumber(s.points.length), `${num(xMin)} – ${num(xMax)}`, `${num(yMin)} – ${num(yMax)}`, num(last[1])]
  })
  return gfmTable(
    ["series", "points", chart.xLabel || "x", chart.yLabel || "y", `last ${chart.yLabel || "y"}`],
    rows,
    ["left", "right", "right", "right", "right"]
  )
}

/**
 * A chart in Markdown: the pointer to the HTML report, then the figures a reviewer needs without
 * opening it — quantiles for a CDF, the values for a bar chart, ranges for curves.
 */
const renderChart = (chart: ChartSpec, htmlFile: string): string => {
  const d = drawable(chart)
  const lines = [`(chart: ${escapeMarkdownInline(chart.title)} — see ${escapeMarkdownInline(htmlFile)})`]
  const hasData = d.series.some((s) => s.points.length > 0)
  if (!hasData) {
    lines.push("", "_No data._")
  } else if (d.series.length <= MAX_SUMMARY_ROWS) {
    const scale = cdfScale(d)
    const table =
      scale !== undefined ? cdfSummary(chart, d, scale) : d.kind === "bar" ? barSummary(chart, d) : lineSummary(chart, d)
    if (table) lines.push("", table)
  }
  const note = droppedNote(d.dropped)
  if (note) lines.push("", `_${escapeMarkdownInline(note)}_`)
  return lines.join("\n")
}

const quote = (text: string): string =>
  text
    .split(/\r?\n/)
    .map((l) => `> ${l}`)
    .join("\n")

/** GitHub-flavoured Markdown that reads on its own in a pull-request comment: tables, ✓/✗, chart summaries. */
export const renderMarkdown = (spec: ReportSpec, opts: MarkdownOptions = {}): string => {
  const htmlFile = opts.htmlFile ?? "report.html"
  const blocks: string[] = [`# ${escapeMarkdownInline(spec.title)}`]
  if (spec.subtitle && spec.subtitle.trim() !== "") blocks.push(`_${escapeMarkdownInline(spec.subtitle.trim())}_`)
  blocks.push(`Generated ${escapeMarkdownInline(readableTimestamp(spec.generatedAt))}`)
  const facts = spec.facts ?? []
  if (facts.length > 0) {
    blocks.push(
      facts
        .map(([k, v]) => `- **${escapeMarkdownInline(k)}:** ${/command/i.test(k) ? codeSpan(v) : escapeMarkdownInline(v)}`)
        .join("\n")
    )
  }
  for (const section of spec.sections) {
    blocks.push(`## ${escapeMarkdownInline(section.heading)}`)
    for (const p of (section.text ?? "").split(/\r?\n\s*\r?\n/).map((t) => t.trim())) {
      // The lead's paragraphs as a quote block: the answer stands out in a pull-request comment too.
      if (p !== "") blocks.push(section.lead ? quote(escapeMarkdownParagraph(p)) : escapeMarkdownParagraph(p))
    }
    if (section.table) blocks.push(section.table.rows.length === 0 ? "_No rows._" : renderTable(section.table))
    for (const chart of section.charts ?? []) blocks.push(renderChart(chart, htmlFile))
  }
  return blocks.join("\n\n") + "\n"
}
