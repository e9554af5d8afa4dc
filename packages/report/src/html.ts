import { renderChartSvg } from "./chart.js"
import { escapeXml, slug } from "./escape.js"
import { REPORT_CSS } from "./style.js"
import { normaliseTable } from "./table.js"
import type { ReportSpec, Section, TableSpec } from "./types.js"

/** "2025-03-01T12:34:56.789Z" → "2025-03-01 12:34:56 UTC"; anything else is shown as given. */
export const readableTimestamp = (iso: string): string => {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(iso)
  if (!m) return iso
  const zone = m[3] === undefined ? "" : m[3] === "Z" ? " UTC" : ` ${m[3]}`
  return `${m[1]} ${m[2]}${zone}`
}

const paragraphs = (text: string): string[] =>
  text
    .split(/\r?\n\s*\r?\n/)
    .map((p) => p.trim())
    .filter((p) => p !== "")

/** Unique fragment ids for the section headings, in order (a repeated heading gets -2, -3 ...). */
export const sectionIds = (sections: ReadonlyArray<Section>): string[] => {
  const seen = new Map<string, number>()
  return sections.map((s) => {
    const base = slug(s.heading)
    const n = (seen.get(base) ?? 0) + 1
    seen.set(base, n)
    return n === 1 ? base : `${base}-${n}`
  })
}

/** viewBox width of the phone twin: on a 375 px screen its 12 px text shows at about 10 px. */
const NARROW_WIDTH = 400

// Longer cells may wrap (prose); shorter ones stay on one line and the table scrolls in its box instead.
const WRAP_FROM_CHARS = 48

const renderTable = (table: TableSpec): string => {
  const t = normaliseTable(table)
  const cls = (i: number, extra?: string) => {
    const names = [t.align[i] === "right" ? "mk-right" : "", ...(extra ?? "").split(" ")].filter((c) => c !== "")
    return names.length === 0 ? "" : ` class="${names.join(" ")}"`
  }
  const head = t.columns.map((c, i) => `<th scope="col"${cls(i)}>${escapeXml(c)}</th>`).join("")
  const body = t.rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => `<td${cls(i, [c.verdict ? `mk-${c.verdict}` : "", c.text.length >= WRAP_FROM_CHARS ? "mk-wrap" : ""].join(" "))}>${escapeXml(c.text)}</td>`).join("")}</tr>`
    )
    .join("\n")
  return `<div class="mk-table-wrap"><table class="mk-table">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table></div>`
}

const renderSection = (section: Section, id: string): string => {
  const kind = section.lead ? "mk-section mk-lead" : "mk-section"
  const parts: string[] = [`<section class="${kind}" id="${escapeXml(id)}">`, `<h2>${escapeXml(section.heading)}</h2>`]
  for (const p of paragraphs(section.text ?? "")) parts.push(`<p>${escapeXml(p).replace(/\r?\n/g, "<br>")}</p>`)
  if (section.table) {
    parts.push(section.table.rows.length === 0 ? `<p class="mk-empty">No rows.</p>` : renderTable(section.table))
  }
  if (section.charts && section.charts.length > 0) {
    parts.push(`<div class="mk-charts">`)
    // Each chart twice: the page shows the wide one, a phone the narrow one (CSS), so that a
    // chart's text never shrinks below ~10 px and nothing needs scrolling sideways.
    for (const chart of section.charts) {
      parts.push(
        `<figure class="mk-figure">\n${renderChartSvg(chart, { variant: "wide" })}\n${renderChartSvg(chart, { width: NARROW_WIDTH, height: 320, variant: "narrow" })}\n</figure>`
      )
    }
    parts.push(`</div>`)
  }
  parts.push(`</section>`)
  return parts.join("\n")
}

const renderFact = ([key, value]: readonly [string, string]): string => {
  const shown = /command/i.test(key) ? `<code>${escapeXml(value)}</code>` : escapeXml(value)
  return `<div><dt>${escapeXml(key)}</dt><dd>${shown}</dd></div>`
}

/**
 * A complete HTML page: inline CSS and inline SVG only (no scripts, no external URLs), so the one
 * file can be attached to a CI run or opened from disk anywhere.
 */
export const renderHtml = (spec: ReportSpec): string => {
  const ids = sectionIds(spec.sections)
  const facts = spec.facts ?? []
  // The lead sections (the key answer) come right under the title, before the run's facts: on a
  // phone the facts alone fill the first screen.
  const leads = spec.sections.flatMap((s, i) => (s.lead ? [renderSection(s, ids[i]!)] : []))
  const factList = facts.length > 0 ? `<dl class="mk-facts">${facts.map(renderFact).join("")}</dl>` : ""
  const header = [
    `<header class="mk-header">`,
    `<h1>${escapeXml(spec.title)}</h1>`,
    spec.subtitle ? `<p class="mk-subtitle">${escapeXml(spec.subtitle)}</p>` : "",
    `<p class="mk-generated">Generated <time datetime="${escapeXml(spec.generatedAt)}">${escapeXml(readableTimestamp(spec.generatedAt))}</time></p>`,
    ...(leads.length > 0 ? [`</header>`, ...leads, factList === "" ? "" : `<div class="mk-header mk-header-facts">${factList}</div>`] : [factList, `</header>`])
  ].filter((l) => l !== "")
  const toc =
    spec.sections.length >= 3
      ? `<nav class="mk-toc" aria-label="Sections"><ol>${spec.sections
          .map((s, i) => `<li><a href="#${escapeXml(ids[i]!)}">${escapeXml(s.heading)}</a></li>`)
          .join("")}</ol></nav>`
      : ""
  return [
    `<!doctype html>`,
    `<html lang="en">`,
    `<head>`,
    `<meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<meta name="generator" content="meshkit report">`,
    `<title>${escapeXml(spec.title)}</title>`,
    `<style>${REPORT_CSS}</style>`,
    `</head>`,
    `<body>`,
    `<main class="mk-report">`,
    ...header,
    toc,
    ...spec.sections.flatMap((s, i) => (s.lead ? [] : [renderSection(s, ids[i]!)])),
    `</main>`,
    `</body>`,
    `</html>`,
    ``
  ]
    .filter((l, i, all) => l !== "" || i === all.length - 1)
    .join("\n")
}
