import { describe, expect, it } from "vitest"
import { renderChartSvg, type ChartSpec } from "../src/index.js"
import { byClass, byName, parseMarkup, textOf } from "./markup.js"

const chart = (over: Partial<ChartSpec>): ChartSpec => ({
  id: "c",
  title: "t",
  xLabel: "x",
  yLabel: "y",
  series: [],
  ...over
})

const parse = (c: ChartSpec) => {
  const tree = parseMarkup(renderChartSvg(c))
  return { tree, svg: byName(tree, "svg")[0]!, series: byClass(tree, "mk-series"), text: textOf(tree) }
}

describe("charts stay readable on empty and degenerate data", () => {
  it("no series at all: axes and a 'No data' message, no series paths", () => {
    const r = parse(chart({}))
    expect(r.svg.attrs.class).toBe("mk-chart")
    expect(r.series).toHaveLength(0)
    expect(byClass(r.tree, "mk-no-data")[0]!.text).toBe("No data")
  })

  it("an empty series is listed in the legend as having no data and gets no path", () => {
    const r = parse(chart({ series: [{ name: "idle", points: [] }, { name: "busy", points: [[1, 2], [2, 3]] }] }))
    expect(r.series.map((s) => s.attrs["data-series"])).toEqual(["busy"])
    expect(r.text).toContain("idle (no data)")
    // colours follow the series' place in the spec, not in the drawn subset
    expect(r.series[0]!.attrs.stroke).toBe("#D55E00")
  })

  it("a single point is drawn as a short mark with a marker, mid-axis", () => {
    const r = parse(chart({ series: [{ name: "one", points: [[5, 7]] }] }))
    expect(r.series[0]!.attrs.d).toMatch(/^M[\d.]+ [\d.]+H[\d.]+$/)
    expect(byName(r.tree, "circle")).toHaveLength(1)
  })

  it("NaN and Infinity are skipped and the chart says how many", () => {
    const r = parse(chart({ series: [{ name: "s", points: [[0, 1], [1, NaN], [Infinity, 2], [2, 3]] }] }))
    expect(r.series[0]!.attrs.d).not.toMatch(/NaN|Infinity/)
    expect(r.series[0]!.attrs.d.match(/[ML]/g)).toHaveLength(2)
    expect(byClass(r.tree, "mk-chart-note")[0]!.text).toBe("Not drawn: 2 non-finite points.")
  })

  it("zero and negative values on log axes are skipped with a note naming the axis", () => {
    const r = parse(
      chart({ xLog: true, yLog: true, series: [{ name: "s", points: [[0, 1], [-1, 2], [1, 0], [10, 5], [100, 50]] }] })
    )
    expect(r.series[0]!.attrs.d.match(/[ML]/g)).toHaveLength(2)
    const note = byClass(r.tree, "mk-chart-note")[0]!.text
    expect(note).toContain("2 points with x ≤ 0 on the log x axis")
    expect(note).toContain("1 point with y ≤ 0 on the log y axis")
  })

  it("identical values do not divide by zero", () => {
    const r = parse(chart({ series: [{ name: "flat", points: [[1, 4], [1, 4], [1, 4]] }] }))
    expect(r.series[0]!.attrs.d).not.toMatch(/NaN|Infinity/)
  })

  it("bars need whole non-negative category indexes; zero bars are still visible", () => {
    const r = parse(
      chart({ kind: "bar", xTicks: ["a", "b", "c"], series: [{ name: "s", points: [[0, 3], [1, 0], [1.5, 2], [-1, 2], [1e9, 1]] }] })
    )
    expect(r.series[0]!.attrs.d.match(/Z/g)).toHaveLength(2)
    expect(byClass(r.tree, "mk-chart-note")[0]!.text).toBe("Not drawn: 3 bars with an x that is not a category index.")
    for (const label of ["a", "b", "c"]) expect(byName(r.tree, "text").map((t) => t.text)).toContain(label)
  })

  it("negative bars hang below a zero line", () => {
    const r = parse(chart({ kind: "bar", series: [{ name: "delta", points: [[0, -5], [1, 5]] }] }))
    const tops = [...r.series[0]!.attrs.d.matchAll(/M([\d.]+) ([\d.]+)h[\d.]+v([\d.]+)/g)].map((m) => [Number(m[2]), Number(m[3])])
    // the negative bar starts where the positive one ends
    expect(tops[0]![0]).toBeCloseTo(tops[1]![0] + tops[1]![1], 1)
  })

  it("a huge series (too many values to spread into Math.min) becomes a path bounded by the pixel width", () => {
    const points = Array.from({ length: 300_000 }, (_, i) => [i, (i * 7919) % 1000] as const)
    const r = parse(chart({ series: [{ name: "big", points }] }))
    const segments = r.series[0]!.attrs.d.match(/[ML]/g)!.length
    expect(segments).toBeGreaterThan(100)
    expect(segments).toBeLessThanOrEqual(4 * 800)
    expect(byName(r.tree, "circle")).toHaveLength(0)
  })

  it("many series cycle colours and then dash patterns, and the legend wraps", () => {
    const series = Array.from({ length: 12 }, (_, i) => ({ name: `series number ${i}`, points: [[0, i], [1, i + 1]] as const }))
    const r = parse(chart({ series }))
    const styles = r.series.map((s) => `${s.attrs.stroke}/${s.attrs["stroke-dasharray"] ?? ""}`)
    expect(new Set(styles).size).toBe(12)
    const legendYs = new Set(byClass(r.tree, "mk-legend-item").map((g) => byName(g, "text")[0]!.attrs.y))
    expect(legendYs.size).toBeGreaterThan(1)
  })

  it("the same input renders to the same bytes; different input does not", () => {
    const c = chart({ series: [{ name: "s", points: [[1, 2], [3, 4]] }] })
    expect(renderChartSvg(c)).toBe(renderChartSvg(structuredClone(c)))
    expect(renderChartSvg(c)).not.toBe(renderChartSvg(chart({ series: [{ name: "s", points: [[1, 2], [3, 5]] }] })))
  })

  it("long titles and axis labels are shortened to fit, keeping the full title for tooltips", () => {
    const long = "a very long title ".repeat(20)
    const r = parse(chart({ title: long, xLabel: long, yLabel: long, series: [{ name: "s", points: [[1, 2], [3, 4]] }] }))
    expect(byName(r.tree, "title")[0]!.text).toBe(long)
    expect(byClass(r.tree, "mk-chart-title")[0]!.text.length).toBeLessThan(100)
    for (const label of byClass(r.tree, "mk-axis-label")) expect(label.text.endsWith("…")).toBe(true)
  })

  it("honours width and height, and the root carries the id and class others select on", () => {
    const r = parse(chart({ id: "my-id", series: [{ name: "s", points: [[1, 2], [3, 4]] }] }))
    expect(r.svg.attrs["data-chart-id"]).toBe("my-id")
    const small = byName(parseMarkup(renderChartSvg(chart({}), { width: 400, height: 250 })), "svg")[0]!
    expect(small.attrs.viewBox).toBe("0 0 400 250")
  })
})
