import { formatNumber } from "@meshkit/report"
import type { BenchReport, Figure } from "../report/figures.js"

/**
 * Base vs new, figure by figure. The base file's thresholds decide (the committed baseline is
 * the contract; a new run cannot loosen its own gate).
 */

export type Verdict = "ok" | "regressed" | "missing" | "not-gated" | "new" | "unit-changed"

export interface CompareRow {
  readonly name: string
  readonly unit: string
  readonly base: Figure | undefined
  readonly next: Figure | undefined
  /** relative change (fraction) for relative thresholds, difference in unit for absolute ones */
  readonly change: number | undefined
  readonly verdict: Verdict
}

export interface Comparison {
  readonly rows: ReadonlyArray<CompareRow>
  /** rows that make the comparison fail: regressions, gated figures gone missing, changed units */
  readonly failures: ReadonlyArray<CompareRow>
}

const changeOf = (base: Figure, next: Figure): number => {
  if (base.thresholdKind === "absolute") return next.value - base.value
  if (base.value === 0) return next.value === 0 ? 0 : Math.sign(next.value) * Infinity
  return (next.value - base.value) / Math.abs(base.value)
}

const isRegression = (base: Figure, change: number): boolean => {
  if (base.threshold === null) return false
  const worse = base.better === "higher" ? -change : change
  return worse > base.threshold
}

export const compareReports = (base: BenchReport, next: BenchReport): Comparison => {
  const nextByName = new Map(next.figures.map((f) => [f.name, f]))
  const baseNames = new Set(base.figures.map((f) => f.name))
  const rows: CompareRow[] = []
  for (const b of base.figures) {
    const n = nextByName.get(b.name)
    if (!n) {
      rows.push({ name: b.name, unit: b.unit, base: b, next: undefined, change: undefined, verdict: b.threshold === null ? "not-gated" : "missing" })
      continue
    }
    if (n.unit !== b.unit) {
      rows.push({ name: b.name, unit: b.unit, base: b, next: n, change: undefined, verdict: "unit-changed" })
      continue
    }
    const change = changeOf(b, n)
    const verdict: Verdict = b.threshold === null ? "not-gated" : isRegression(b, change) ? "regressed" : "ok"
    rows.push({ name: b.name, unit: b.unit, base: b, next: n, change, verdict })
  }
  for (const n of next.figures) {
    if (!baseNames.has(n.name)) rows.push({ name: n.name, unit: n.unit, base: undefined, next: n, change: undefined, verdict: "new" })
  }
  const failures = rows.filter((r) => r.verdict === "regressed" || r.verdict === "missing" || r.verdict === "unit-changed")
  return { rows, failures }
}

// ---- Markdown ---------------------------------------------------------------------------

const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ")

/** about three significant figures, whatever the magnitude */
export const fmt = (v: number): string => {
  const a = Math.abs(v)
  return formatNumber(v, a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3)
}

const withUnit = (v: number, unit: string): string => `${fmt(v)}${unit ? ` ${unit}` : ""}`

const valueCell = (f: Figure | undefined): string =>
  f === undefined ? "missing" : `${withUnit(f.value, f.unit)}${f.spread !== null && f.spread !== 0 ? ` ± ${fmt(f.spread)}` : ""}`

const signed = (x: number, text: string): string => `${x > 0 ? "+" : x < 0 ? "−" : "±"}${text}`

const changeCell = (r: CompareRow): string => {
  if (r.change === undefined || r.base === undefined) return "–"
  if (!Number.isFinite(r.change)) return r.change > 0 ? "+∞ %" : "−∞ %"
  return r.base.thresholdKind === "absolute"
    ? signed(r.change, withUnit(Math.abs(r.change), r.unit))
    : signed(r.change, `${fmt(Math.abs(r.change) * 100)} %`)
}

const thresholdCell = (f: Figure | undefined): string => {
  if (f === undefined || f.threshold === null) return "not gated"
  const dir = f.better === "higher" ? "−" : "+"
  return f.thresholdKind === "absolute" ? `${dir}${withUnit(f.threshold, f.unit)}` : `${dir}${formatNumber(f.threshold * 100, 0)} %`
}

const verdictCell: Record<Verdict, string> = {
  ok: "✓",
  regressed: "✗ regressed",
  missing: "✗ missing",
  "unit-changed": "✗ unit changed",
  "not-gated": "–",
  new: "new"
}

const runFacts = (r: BenchReport): string => {
  const m = r.machine
  const load = `load ${m.loadAverage1m}${m.loadAverage1mAtEnd !== undefined ? `→${m.loadAverage1mAtEnd}` : ""}`
  return `${r.name}, ${m.date}, ${m.cpuModel} × ${m.cores}, Node ${m.node}, ${load}${r.quick ? ", quick" : ""}`
}

export const compareMarkdown = (base: BenchReport, next: BenchReport, c: Comparison, files: { base: string; next: string }): string => {
  const lines: string[] = []
  lines.push("## Benchmark comparison", "")
  lines.push(`- base: \`${cell(files.base)}\` (${runFacts(base)})`)
  lines.push(`- new: \`${cell(files.next)}\` (${runFacts(next)})`)
  if (base.machine.cpuModel !== next.machine.cpuModel || base.machine.cores !== next.machine.cores || base.machine.node !== next.machine.node) {
    lines.push("", "Different machines or Node versions: only the gated figures (same-run ratios, counts and memory) are comparable; absolute rates and times are shown for information.")
  }
  lines.push("")
  lines.push("| figure | base | new | change | threshold | |")
  lines.push("|---|---:|---:|---:|---:|:---|")
  for (const r of c.rows) {
    lines.push(`| ${cell(r.name)} | ${cell(valueCell(r.base))} | ${cell(valueCell(r.next))} | ${cell(changeCell(r))} | ${cell(thresholdCell(r.base))} | ${verdictCell[r.verdict]} |`)
  }
  lines.push("")
  const gated = c.rows.filter((r) => r.base?.threshold !== null && r.base !== undefined).length
  if (c.failures.length === 0) {
    lines.push(`**✓ no regression** (${gated} gated figures within their thresholds).`)
  } else {
    lines.push(`**✗ ${c.failures.length} of ${gated} gated figures failed:** ${c.failures.map((r) => `${r.name} (${verdictCell[r.verdict].slice(2)})`).join(", ")}.`)
  }
  const missingUngated = c.rows.filter((r) => r.verdict === "not-gated" && r.next === undefined)
  if (missingUngated.length > 0) lines.push("", `Not measured in the new run (not gated): ${missingUngated.map((r) => r.name).join(", ")}.`)
  if (next.notes.length > 0) lines.push("", "Notes from the new run:", "", ...next.notes.map((n) => `- ${cell(n)}`))
  return lines.join("\n") + "\n"
}
