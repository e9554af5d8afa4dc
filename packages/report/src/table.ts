import { formatNumber } from "./format.js"
import type { TableSpec } from "./types.js"

export type Align = "left" | "right"

export interface TableCell {
  readonly text: string
  /** ✓ or ✗ at the start of a cell: pass/fail columns get colour in HTML */
  readonly verdict: "ok" | "bad" | undefined
}

export interface NormalisedTable {
  readonly columns: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<TableCell>>
  readonly align: ReadonlyArray<Align>
}

// "12", "1,234.5", "-3e-4", "12.3 ms", "85%", "4.2 GiB", "1.5k req/s": right-aligned like numbers.
const NUMERIC = /^[-+−]?(\d[\d,]*(\.\d+)?|\.\d+)(e[-+]?\d+)?\s*[a-zµ%/]*(\/[a-z]+)?$/i
// Cells that say "no value" don't decide a column's alignment.
const NEUTRAL = /^(|-|—|–|n\/a|∞|−∞|nan)$/i

const cellText = (v: unknown): string => (typeof v === "number" ? formatNumber(v) : v == null ? "" : String(v))

const verdictOf = (text: string): TableCell["verdict"] => {
  const t = text.trimStart()
  return t.startsWith("✓") ? "ok" : t.startsWith("✗") ? "bad" : undefined
}

/**
 * One reading of a table for both renderers: numbers formatted once, ragged rows padded to the
 * widest row, and each column aligned as asked or, by default, right when every cell is numeric.
 */
export const normaliseTable = (table: TableSpec): NormalisedTable => {
  const raw = table.rows ?? []
  const width = raw.reduce((w, r) => Math.max(w, r.length), table.columns.length)
  const columns = Array.from({ length: width }, (_, i) => String(table.columns[i] ?? ""))
  const rows = raw.map((r) =>
    Array.from({ length: width }, (_, i) => {
      const text = cellText(r[i])
      return { text, verdict: verdictOf(text) }
    })
  )
  const align = columns.map((_, i): Align => {
    const asked = table.align?.[i]
    if (asked === "left" || asked === "right") return asked
    let numeric = 0
    for (const r of raw) {
      const v = r[i]
      if (typeof v === "number") numeric++
      else {
        const t = cellText(v).trim()
        if (NEUTRAL.test(t)) continue
        if (!NUMERIC.test(t)) return "left"
        numeric++
      }
    }
    return numeric > 0 ? "right" : "left"
  })
  return { columns, rows, align }
}
