import { drawBars, drawCurve, px, type Box } from "./chart-series.js"
import { escapeXml } from "./escape.js"
import { formatDurationShort, formatPercent } from "./format.js"
import { seriesStyle } from "./palette.js"
import { drawable, droppedNote, type DrawableSeries } from "./points.js"
import { linearScale, logScale, markedScale, type Scale } from "./scale.js"
import type { AxisFormat, ChartSpec } from "./types.js"

export interface ChartOptions {
  /** viewBox width in px; the SVG scales to its container in HTML */
  readonly width?: number
  /** height with one legend row; more legend rows, notes or slanted labels add to it */
  readonly height?: number
  /** a data-variant attribute: the HTML page shows a "narrow" twin of each chart on phones */
  readonly variant?: string
}

export const CHART_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

const COLOR = { text: "#1f2328", muted: "#59636e", axis: "#8c959f", grid: "#e6e8eb", minor: "#f3f4f6" }
// Glyph widths are estimated (no font metrics at render time); generous so labels never collide.
const CHAR_W = 6.9
const TITLE_H = 30
const LEGEND_ROW = 18
const LABEL_MAX_CHARS = 28
const LEGEND_MAX_CHARS = 40
const SLANT = (35 * Math.PI) / 180

const truncate = (text: string, max: number): string => (text.length > max ? text.slice(0, max - 1) + "…" : text)

const textWidth = (text: string, charW = CHAR_W): number => text.length * charW

/** "latency (ms)" on a log axis reads "latency (ms, log)"; "miss ratio" reads "miss ratio (log)". */
const withLog = (label: string, log: boolean): string =>
  !log ? label : /\)$/.test(label) ? label.replace(/\)$/, ", log)") : `${label} (log)`

const place = (scale: Scale, v: number, from: number, to: number): number => from + scale.fraction(v) * (to - from)

/** A y range over the values, including 0 when it is nearby: bars start at 0; latencies read honestly. */
const valueScale = (range: readonly [number, number] | undefined, log: boolean, bars: boolean): Scale => {
  if (range === undefined) return log ? logScale(1, 10) : linearScale(0, 1)
  let [min, max] = range
  if (log) return logScale(min, max)
  if (bars || (min >= 0 && min < max / 2)) min = Math.min(0, min)
  if (bars || (max <= 0 && max > min / 2)) max = Math.max(0, max)
  // Headroom above the tallest bar for its value label.
  if (bars) [min, max] = [min < 0 ? min * 1.08 : min, max > 0 ? max * 1.08 : max]
  return linearScale(min, max, 5)
}

/** Tick labels in the axis's format: the same unit reads the same in every report. */
const labelFor = (format: AxisFormat | undefined): ((v: number) => string) | undefined =>
  format === "duration-ms"
    ? formatDurationShort
    : format === "percent"
      ? (v: number) => formatPercent(v, Math.abs(v) < 0.1 && v !== 0 ? 1 : 0)
      : undefined

const formatTicks = (scale: Scale, format: AxisFormat | undefined): Scale => {
  const label = labelFor(format)
  if (label === undefined) return scale
  return { ...scale, ticks: scale.ticks.map((t) => ({ value: t.value, label: t.label === "" ? "" : label(t.value) })) }
}

const positionScale = (
  range: readonly [number, number] | undefined,
  log: boolean,
  target: number,
  marks: ReadonlyArray<readonly [number, string]> | undefined
): Scale => {
  if (marks && marks.length > 0) return markedScale(range, log, marks)
  if (range === undefined) return log ? logScale(1, 10) : linearScale(0, 1, target)
  return log ? logScale(range[0], range[1]) : linearScale(range[0], range[1], target)
}

/** Min and max of one coordinate over all series by a loop (spreading a million values overflows the stack). */
const extentOf = (series: ReadonlyArray<DrawableSeries>, axis: 0 | 1): [number, number] | undefined => {
  let min = Infinity
  let max = -Infinity
  for (const s of series) {
    for (const p of s.points) {
      const v = p[axis]
      if (v < min) min = v
      if (v > max) max = v
    }
  }
  return min <= max ? [min, max] : undefined
}


interface LegendItem {
  readonly label: string
  readonly full: string
  readonly index: number
  readonly x: number
  readonly row: number
}

const layoutLegend = (series: ReadonlyArray<DrawableSeries>, startX: number, maxX: number): LegendItem[] => {
  const items: LegendItem[] = []
  let x = startX
  let row = 0
  for (const s of series) {
    const full = s.points.length === 0 ? `${s.name} (no data)` : s.name
    const label = truncate(full, LEGEND_MAX_CHARS)
    const w = 24 + textWidth(label) + 18
    if (x > startX && x + w > maxX) {
      x = startX
      row++
    }
    items.push({ label, full, index: s.index, x, row })
    x += w
  }
  return items
}

/**
 * One chart as a self-contained SVG string: title, legend, grid, axes with tick labels (decades on
 * log axes), the series, and a note for points that could not be drawn. Same input, same bytes.
 */
export const renderChartSvg = (chart: ChartSpec, opts: ChartOptions = {}): string => {
  const width = Math.max(240, opts.width ?? 720)
  const baseHeight = Math.max(200, opts.height ?? 360)
  const data = drawable(chart)
  const bars = data.kind === "bar"
  const xs = extentOf(data.series, 0)
  const ys = extentOf(data.series, 1)
  const empty = xs === undefined

  const yScale = formatTicks(valueScale(ys, chart.yLog === true, bars), chart.yFormat)
  const yLabelWidth = yScale.ticks.reduce((w, t) => Math.max(w, textWidth(t.label)), 0)
  const left = Math.round(22 + 8 + yLabelWidth + 8)
  const right = 24

  const legend = layoutLegend(data.series, 12, width - 12)
  const legendRows = legend.length === 0 ? 0 : legend[legend.length - 1]!.row + 1
  const top = TITLE_H + Math.max(1, legendRows) * LEGEND_ROW + 10

  // Categories (bars) or a continuous x scale.
  const categoryCount = bars
    ? Math.max(chart.xTicks?.length ?? 0, 1, xs ? xs[1] + 1 : 0)
    : 0
  const plotWidth = width - left - right
  const band = bars ? plotWidth / categoryCount : 0
  const categoryLabels = bars
    ? Array.from({ length: categoryCount }, (_, i) => String(chart.xTicks?.[i] ?? i))
    : []
  const categoryEvery = bars ? Math.max(1, Math.ceil((categoryCount * 14) / plotWidth)) : 1
  const longestCategory = categoryLabels.reduce((w, l) => Math.max(w, textWidth(truncate(l, LABEL_MAX_CHARS))), 0)
  const slanted = bars && longestCategory > band * categoryEvery - 6
  const xTickArea = slanted ? Math.ceil(longestCategory * Math.sin(SLANT) + 16) : 22

  const note = droppedNote(data.dropped)
  const bottom = 8 + xTickArea + 20 + (note ? 18 : 0) + 6
  const plotHeight = Math.max(100, baseHeight - TITLE_H - LEGEND_ROW - 10 - (8 + 22 + 20 + 6))
  const height = top + plotHeight + bottom
  const plot: Box = { left, top, width: plotWidth, height: plotHeight }
  const xScale = bars
    ? undefined
    : formatTicks(positionScale(xs, chart.xLog === true, Math.max(2, Math.floor(plotWidth / 90)), chart.xTickMarks), chart.xTickMarks ? undefined : chart.xFormat)

  const yAt = (v: number) => place(yScale, v, plot.top + plot.height, plot.top)
  const xAt = (v: number) => place(xScale!, v, plot.left, plot.left + plot.width)
  const out: string[] = []
  const add = (s: string) => out.push(s)

  add(
    `<svg xmlns="http://www.w3.org/2000/svg" class="mk-chart" data-chart-id="${escapeXml(chart.id)}"${opts.variant ? ` data-variant="${escapeXml(opts.variant)}"` : ""} ` +
      `viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" ` +
      `font-family="${escapeXml(CHART_FONT)}" font-size="12">`
  )
  add(`<title>${escapeXml(chart.title)}</title>`)
  add(`<rect class="mk-chart-bg" x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`)
  add(
    `<text class="mk-chart-title" x="12" y="20" font-size="14" font-weight="600" fill="${COLOR.text}">${escapeXml(truncate(chart.title, Math.floor((width - 24) / 8)))}</text>`
  )

  // Grid first so that data is drawn over it.
  add(`<g class="mk-grid" fill="none" stroke-width="1">`)
  for (const v of yScale.minor) {
    add(`<line x1="${px(plot.left)}" x2="${px(plot.left + plot.width)}" y1="${px(yAt(v))}" y2="${px(yAt(v))}" stroke="${COLOR.minor}"/>`)
  }
  for (const t of yScale.ticks) {
    add(`<line x1="${px(plot.left)}" x2="${px(plot.left + plot.width)}" y1="${px(yAt(t.value))}" y2="${px(yAt(t.value))}" stroke="${COLOR.grid}"/>`)
  }
  if (xScale) {
    for (const v of xScale.minor) {
      add(`<line x1="${px(xAt(v))}" x2="${px(xAt(v))}" y1="${px(plot.top)}" y2="${px(plot.top + plot.height)}" stroke="${COLOR.minor}"/>`)
    }
    for (const t of xScale.ticks) {
      add(`<line x1="${px(xAt(t.value))}" x2="${px(xAt(t.value))}" y1="${px(plot.top)}" y2="${px(plot.top + plot.height)}" stroke="${COLOR.grid}"/>`)
    }
  }
  add(`</g>`)

  // Axes: lines, ticks, tick labels, axis titles.
  const axisY = plot.top + plot.height
  add(`<g class="mk-axes" fill="${COLOR.muted}" stroke="${COLOR.axis}">`)
  add(`<line x1="${px(plot.left)}" x2="${px(plot.left + plot.width)}" y1="${px(axisY)}" y2="${px(axisY)}"/>`)
  add(`<line x1="${px(plot.left)}" x2="${px(plot.left)}" y1="${px(plot.top)}" y2="${px(axisY)}"/>`)
  if (!yScale.log && yScale.domain[0] < 0 && yScale.domain[1] > 0) {
    add(`<line x1="${px(plot.left)}" x2="${px(plot.left + plot.width)}" y1="${px(yAt(0))}" y2="${px(yAt(0))}" stroke="${COLOR.muted}"/>`)
  }
  for (const t of yScale.ticks) {
    const y = yAt(t.value)
    add(`<line x1="${px(plot.left - 4)}" x2="${px(plot.left)}" y1="${px(y)}" y2="${px(y)}"/>`)
    if (t.label) {
      add(`<text x="${px(plot.left - 7)}" y="${px(y)}" dy="0.32em" text-anchor="end" stroke="none">${escapeXml(t.label)}</text>`)
    }
  }
  if (xScale) {
    // A label that would touch the one before it is left out (its tick stays): explicit ticks may crowd.
    let lastEnd = -Infinity
    for (const t of xScale.ticks) {
      const x = xAt(t.value)
      add(`<line x1="${px(x)}" x2="${px(x)}" y1="${px(axisY)}" y2="${px(axisY + 4)}"/>`)
      const half = textWidth(t.label) / 2
      if (t.label && x - half >= lastEnd + 6) {
        add(`<text x="${px(x)}" y="${px(axisY + 17)}" text-anchor="middle" stroke="none">${escapeXml(t.label)}</text>`)
        lastEnd = x + half
      }
    }
  } else {
    categoryLabels.forEach((label, i) => {
      const x = plot.left + band * (i + 0.5)
      add(`<line x1="${px(x)}" x2="${px(x)}" y1="${px(axisY)}" y2="${px(axisY + 4)}"/>`)
      if (i % categoryEvery !== 0) return
      const shown = escapeXml(truncate(label, LABEL_MAX_CHARS))
      const tip = label.length > LABEL_MAX_CHARS ? `<title>${escapeXml(label)}</title>` : ""
      if (slanted) {
        const y = axisY + 12
        add(
          `<text x="${px(x)}" y="${px(y)}" text-anchor="end" stroke="none" transform="rotate(-35 ${px(x)} ${px(y)})">${tip}${shown}</text>`
        )
      } else {
        add(`<text x="${px(x)}" y="${px(axisY + 17)}" text-anchor="middle" stroke="none">${tip}${shown}</text>`)
      }
    })
  }
  add(
    `<text class="mk-axis-label" x="${px(plot.left + plot.width / 2)}" y="${px(axisY + 8 + xTickArea + 12)}" text-anchor="middle" stroke="none" fill="${COLOR.text}">${escapeXml(truncate(withLog(chart.xLabel, chart.xLog === true && !bars), Math.floor(plot.width / CHAR_W)))}</text>`
  )
  const yMid = plot.top + plot.height / 2
  add(
    `<text class="mk-axis-label" x="14" y="${px(yMid)}" text-anchor="middle" stroke="none" fill="${COLOR.text}" transform="rotate(-90 14 ${px(yMid)})">${escapeXml(truncate(withLog(chart.yLabel, chart.yLog === true), Math.floor(plot.height / CHAR_W)))}</text>`
  )
  add(`</g>`)

  // Data.
  add(`<g class="mk-data">`)
  if (bars) {
    drawBars(add, data.series, plot, band, yScale, yAt, labelFor(chart.yFormat))
  } else {
    for (const s of data.series) drawCurve(add, s, data.kind === "step", xAt, yAt)
  }
  add(`</g>`)

  if (empty) {
    add(
      `<text class="mk-no-data" x="${px(plot.left + plot.width / 2)}" y="${px(plot.top + plot.height / 2)}" text-anchor="middle" fill="${COLOR.muted}" font-size="14">No data</text>`
    )
  }

  // Legend.
  add(`<g class="mk-legend">`)
  for (const item of legend) {
    const style = seriesStyle(item.index)
    const y = TITLE_H + item.row * LEGEND_ROW + 9
    const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : ""
    const swatch = bars
      ? `<rect x="${px(item.x + 4)}" y="${px(y - 5)}" width="12" height="10" fill="${style.color}"/>`
      : `<line x1="${px(item.x)}" x2="${px(item.x + 18)}" y1="${px(y)}" y2="${px(y)}" stroke="${style.color}" stroke-width="2.5"${dash}/>`
    const tip = item.full !== item.label ? `<title>${escapeXml(item.full)}</title>` : ""
    add(
      `<g class="mk-legend-item">${swatch}<text x="${px(item.x + 24)}" y="${px(y)}" dy="0.32em" fill="${COLOR.text}">${tip}${escapeXml(item.label)}</text></g>`
    )
  }
  add(`</g>`)

  if (note) {
    add(
      `<text class="mk-chart-note" x="12" y="${px(height - 10)}" font-size="11" fill="${COLOR.muted}">${escapeXml(note)}</text>`
    )
  }
  add(`</svg>`)
  return out.join("\n")
}
