// How series are drawn: curves (line, step) and grouped bars, in pixel space the chart gives.
import { escapeXml } from "./escape.js"
import { formatCompact, formatNumber } from "./format.js"
import { seriesStyle } from "./palette.js"
import type { DrawableSeries } from "./points.js"
import type { Scale } from "./scale.js"

const MARKERS_UP_TO = 60
const MUTED = "#59636e"

/** Pixel coordinate with 2 decimals: stable text for the same input, and no "-0". */
export const px = (v: number): string => {
  const r = Math.round(v * 100) / 100
  return String(r === 0 ? 0 : r)
}

export interface Box {
  readonly left: number
  readonly top: number
  readonly width: number
  readonly height: number
}

/**
 * Pixel positions of the points, with consecutive points that fall in the same pixel column reduced
 * to their first, lowest, highest and last: the drawn shape is unchanged and the path stays small
 * for huge series.
 */
const pixels = (
  points: ReadonlyArray<readonly [number, number]>,
  xAt: (v: number) => number,
  yAt: (v: number) => number
): Array<readonly [number, number]> => {
  const out: Array<readonly [number, number]> = []
  let lastIndex = -1
  const at = (k: number) => [xAt(points[k]![0]), yAt(points[k]![1])] as const
  let i = 0
  while (i < points.length) {
    const column = Math.round(xAt(points[i]![0]))
    const firstY = yAt(points[i]![1])
    let lo = i
    let loY = firstY
    let hi = i
    let hiY = firstY
    let j = i + 1
    for (; j < points.length && Math.round(xAt(points[j]![0])) === column; j++) {
      const y = yAt(points[j]![1])
      if (y < loY) {
        lo = j
        loY = y
      }
      if (y > hiY) {
        hi = j
        hiY = y
      }
    }
    const last = j - 1
    // Kept in the order they occurred so that the line's direction through the column is preserved.
    for (const k of [i, Math.min(lo, hi), Math.max(lo, hi), last]) {
      if (out.length === 0 || k > lastIndex) {
        out.push(at(k))
        lastIndex = k
      }
    }
    i = j
  }
  return out
}

export type Add = (s: string) => void

const tooltip = (name: string, x: string, y: number): string =>
  `<title>${escapeXml(`${name}: ${x}, ${formatNumber(y, 3)}`)}</title>`

export const drawCurve = (
  add: Add,
  s: DrawableSeries,
  step: boolean,
  xAt: (v: number) => number,
  yAt: (v: number) => number
): void => {
  if (s.points.length === 0) return
  const style = seriesStyle(s.index)
  const xy = pixels(s.points, xAt, yAt)
  let d: string
  if (xy.length === 1) {
    // A lone point still gets a visible mark with length, not a zero-length path.
    const [x, y] = xy[0]!
    d = `M${px(x - 6)} ${px(y)}H${px(x + 6)}`
  } else if (step) {
    // Step-after: the value holds until the next x, as an empirical CDF does.
    d = `M${px(xy[0]![0])} ${px(xy[0]![1])}` + xy.slice(1).map(([x, y]) => `H${px(x)}V${px(y)}`).join("")
  } else {
    d = xy.map(([x, y], i) => `${i === 0 ? "M" : "L"}${px(x)} ${px(y)}`).join("")
  }
  const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : ""
  add(
    `<path class="mk-series" data-series="${escapeXml(s.name)}" d="${d}" fill="none" stroke="${style.color}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"${dash}><title>${escapeXml(s.name)}</title></path>`
  )
  if (s.points.length <= MARKERS_UP_TO) {
    add(`<g class="mk-markers" fill="${style.color}">`)
    for (const [x, y] of s.points) {
      add(`<circle cx="${px(xAt(x))}" cy="${px(yAt(y))}" r="2.75">${tooltip(s.name, formatNumber(x, 3), y)}</circle>`)
    }
    add(`</g>`)
  }
}

/** Short, honest value labels: exact below 10,000, three significant figures above (12.3k). */
const barValueLabel = (v: number): string =>
  Math.abs(v) >= 1e4 ? formatCompact(Number(v.toPrecision(3))) : formatNumber(v, Math.abs(v) < 1 ? 3 : 2)

export const drawBars = (
  add: Add,
  series: ReadonlyArray<DrawableSeries>,
  plot: Box,
  band: number,
  yScale: Scale,
  yAt: (v: number) => number,
  /** the y axis's label format, so bars and ticks read alike (557 ms, not 557.05) */
  format?: (v: number) => string
): void => {
  const label = format ?? barValueLabel
  const groups = Math.max(1, series.length)
  const groupWidth = band * 0.8
  const barWidth = groupWidth / groups
  const baseline = yScale.log ? plot.top + plot.height : yAt(0)
  const totalBars = series.reduce((n, s) => n + s.points.length, 0)
  // Value labels only when every one of them fits over its bar; otherwise none (no half-labelled charts).
  const widest = series.reduce((w, s) => s.points.reduce((m, p) => Math.max(m, label(p[1]).length), w), 0)
  const labelled = totalBars <= 40 && widest * 5.8 <= barWidth + 6
  for (const s of series) {
    if (s.points.length === 0) continue
    const style = seriesStyle(s.index)
    const slot = series.indexOf(s)
    const rects = s.points.map(([category, value]) => {
      const x = plot.left + band * category + (band - groupWidth) / 2 + slot * barWidth
      const y = yAt(value)
      // At least 1px tall so that a zero bar is still visibly "measured, zero".
      const h = Math.max(1, Math.abs(baseline - y))
      const y0 = value >= 0 || yScale.log ? Math.min(y, baseline - 1) : baseline
      return { x, y0, h, w: Math.max(1, barWidth - 1), value }
    })
    const d = rects.map((r) => `M${px(r.x)} ${px(r.y0)}h${px(r.w)}v${px(r.h)}h${px(-r.w)}Z`).join("")
    add(
      `<path class="mk-series" data-series="${escapeXml(s.name)}" d="${d}" fill="${style.color}" stroke="none"><title>${escapeXml(s.name)}</title></path>`
    )
    if (labelled) {
      add(`<g class="mk-bar-values" font-size="10" fill="${MUTED}" text-anchor="middle">`)
      for (const r of rects) {
        const below = r.value < 0 && !yScale.log
        const y = below ? r.y0 + r.h + 11 : r.y0 - 4
        add(`<text x="${px(r.x + r.w / 2)}" y="${px(y)}">${escapeXml(label(r.value))}</text>`)
      }
      add(`</g>`)
    }
  }
}
