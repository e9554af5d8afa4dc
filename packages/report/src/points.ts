import type { ChartSpec } from "./types.js"

/** What could not be drawn, so the chart can say so instead of silently hiding data. */
export interface Dropped {
  readonly nonFinite: number
  readonly notPositiveOnLogX: number
  readonly notPositiveOnLogY: number
  readonly badCategory: number
}

export interface DrawableSeries {
  readonly name: string
  /** index of the series in the spec: keeps colours stable when another series is empty */
  readonly index: number
  readonly points: ReadonlyArray<readonly [number, number]>
}

export interface DrawableChart {
  readonly kind: "line" | "step" | "bar"
  readonly series: ReadonlyArray<DrawableSeries>
  readonly dropped: Dropped
}

/** More bars than a chart can show side by side: a category index beyond it is a caller's mistake. */
export const MAX_CATEGORIES = 2000

/**
 * The points a chart can draw: finite, positive on log axes, whole non-negative category indexes for
 * bars; step series sorted by x (a CDF drawn out of order would zig-zag). Line series keep their
 * order because a curve such as latency against throughput need not be monotonic in x.
 */
export const drawable = (chart: ChartSpec): DrawableChart => {
  const kind = chart.kind ?? "line"
  let nonFinite = 0
  let notPositiveOnLogX = 0
  let notPositiveOnLogY = 0
  let badCategory = 0
  const series = chart.series.map((s, index) => {
    const points: Array<readonly [number, number]> = []
    for (const p of s.points ?? []) {
      const x = p?.[0]
      const y = p?.[1]
      if (typeof x !== "number" || typeof y !== "number" || !Number.isFinite(x) || !Number.isFinite(y)) {
        nonFinite++
      } else if (kind === "bar" && (x < 0 || !Number.isInteger(x) || x >= MAX_CATEGORIES)) {
        badCategory++
      } else if (kind !== "bar" && chart.xLog && x <= 0) {
        notPositiveOnLogX++
      } else if (chart.yLog && y <= 0) {
        notPositiveOnLogY++
      } else {
        points.push(p as readonly [number, number]) // the caller's tuple, not a copy: charts may hold millions
      }
    }
    if (kind === "step" && !sortedByX(points)) points.sort((a, b) => a[0] - b[0])
    return { name: String(s.name ?? ""), index, points }
  })
  return { kind, series, dropped: { nonFinite, notPositiveOnLogX, notPositiveOnLogY, badCategory } }
}

const sortedByX = (points: ReadonlyArray<readonly [number, number]>): boolean => {
  for (let i = 1; i < points.length; i++) if (points[i]![0] < points[i - 1]![0]) return false
  return true
}

/** One sentence naming what was left out, or undefined when everything was drawn. */
export const droppedNote = (d: Dropped): string | undefined => {
  const parts: string[] = []
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`
  if (d.nonFinite > 0) parts.push(`${plural(d.nonFinite, "non-finite point")}`)
  if (d.notPositiveOnLogX > 0) parts.push(`${plural(d.notPositiveOnLogX, "point")} with x ≤ 0 on the log x axis`)
  if (d.notPositiveOnLogY > 0) parts.push(`${plural(d.notPositiveOnLogY, "point")} with y ≤ 0 on the log y axis`)
  if (d.badCategory > 0) parts.push(`${plural(d.badCategory, "bar")} with an x that is not a category index`)
  return parts.length === 0 ? undefined : `Not drawn: ${parts.join("; ")}.`
}
