// What the reports added for "show the answer": a lead section first, explicit ticks (swept sizes,
// percentiles) on log axes, unit-aware tick and bar labels, and tables that scroll in their box.
import { describe, expect, it } from "vitest"
import { formatDurationShort, renderChartSvg, renderHtml, renderMarkdown, type ChartSpec, type ReportSpec } from "../src/index.js"
import { markedScale } from "../src/scale.js"
import { REPORT_CSS } from "../src/style.js"
import { byClass, byName, parseMarkup } from "./markup.js"

const axisTexts = (svg: string) => {
  const tree = parseMarkup(svg)
  const axes = byClass(tree, "mk-axes")[0]!
  return byName(axes, "text").filter((t) => t.attrs.class !== "mk-axis-label").map((t) => t.text)
}

describe("explicit ticks on a continuous axis", () => {
  it("span the ticks and the data on a log axis, placed by log distance", () => {
    const s = markedScale([2, 5000], true, [[2, "p50"], [10, "p90"], [100, "p99"], [1000, "p99.9"], [10000, "p99.99"]])
    expect(s.ticks.map((t) => t.label)).toEqual(["p50", "p90", "p99", "p99.9", "p99.99"])
    // p90 → p99 and p99 → p99.9 are the same distance: each step is ten times rarer.
    expect(s.fraction(100) - s.fraction(10)).toBeCloseTo(s.fraction(1000) - s.fraction(100), 12)
    expect(s.fraction(2)).toBeGreaterThan(0)
    expect(s.fraction(10000)).toBeLessThan(1)
  })

  it("skip ticks that cannot sit on a log axis and survive a single value", () => {
    const s = markedScale([4, 4], true, [[0, "zero"], [4, "4 GiB"]])
    expect(s.ticks.map((t) => t.label)).toEqual(["4 GiB"])
    expect(s.fraction(4)).toBeCloseTo(0.5, 12)
  })

  it("label the swept sizes on the chart and leave out a label that would collide", () => {
    const chart: ChartSpec = {
      id: "mrc",
      title: "Miss ratio against memory",
      xLabel: "memory per instance",
      yLabel: "miss ratio",
      xLog: true,
      xTickMarks: [[1, "1 GiB"], [2, "2 GiB"], [4, "4 GiB"], [4.1, "4.1 GiB"], [8, "8 GiB"]],
      series: [{ name: "lru", points: [[1, 0.4], [2, 0.3], [4, 0.1], [8, 0.05]] }]
    }
    const labels = axisTexts(renderChartSvg(chart))
    for (const l of ["1 GiB", "2 GiB", "4 GiB", "8 GiB"]) expect(labels).toContain(l)
    expect(labels).not.toContain("4.1 GiB")
    expect(labels.some((l) => l === "10")).toBe(false) // the computed decades are replaced
  })
})

describe("unit-aware tick labels", () => {
  it("durations read 500 ms, 1 s, 1.5 s (no trailing zeros), percentages 20%", () => {
    expect([0.25, 500, 1000, 1500, 12_345].map(formatDurationShort)).toEqual(["250 µs", "500 ms", "1 s", "1.5 s", "12.3 s"])
    const svg = renderChartSvg({
      id: "cdf",
      title: "CDF",
      xLabel: "latency (ms)",
      yLabel: "fraction",
      xLog: true,
      kind: "step",
      xFormat: "duration-ms",
      yFormat: "percent",
      series: [{ name: "a", points: [[1, 0.1], [40, 0.5], [3000, 1]] }]
    })
    const labels = axisTexts(svg)
    expect(labels).toEqual(expect.arrayContaining(["1 ms", "10 ms", "100 ms", "1 s", "0%", "100%"]))
    expect(parseMarkup(svg).text + byClass(parseMarkup(svg), "mk-axis-label").map((t) => t.text).join("|")).toContain("latency (ms, log)")
  })

  it("bar value labels use the y axis's format", () => {
    const svg = renderChartSvg({
      id: "p99",
      title: "p99 by policy",
      xLabel: "policy",
      yLabel: "p99",
      kind: "bar",
      yFormat: "duration-ms",
      xTicks: ["lru", "fifo"],
      series: [{ name: "p99", points: [[0, 557.05], [1, 1048.58]] }]
    })
    const values = byName(byClass(parseMarkup(svg), "mk-bar-values")[0]!, "text").map((t) => t.text)
    expect(values).toEqual(["557 ms", "1.05 s"])
  })
})

const spec: ReportSpec = {
  title: "Report",
  generatedAt: "2025-03-01T12:34:56.789Z",
  facts: [["machine", "2 cores"]],
  sections: [
    { heading: "Details", text: "Comes second.", table: { columns: ["policy", "note"], rows: [["lru", "a long explanation ".repeat(4)]] } },
    { heading: "Answer", lead: true, text: "lru wins.\n\nTies: ttl gives exactly lru's results." }
  ]
}

describe("a lead section", () => {
  it("comes right under the title in HTML, boxed, before the facts and the other sections", () => {
    const html = renderHtml(spec)
    const tree = parseMarkup(html)
    const lead = byClass(tree, "mk-lead")
    expect(lead).toHaveLength(1)
    expect(byName(lead[0]!, "h2")[0]!.text).toBe("Answer")
    expect(html.indexOf("mk-lead")).toBeLessThan(html.indexOf("mk-facts\""))
    expect(html.indexOf("mk-lead")).toBeLessThan(html.indexOf(">Details<"))
    expect(REPORT_CSS).toMatch(/\.mk-lead \{[^}]*border/)
  })

  it("is a quote block in Markdown", () => {
    const md = renderMarkdown(spec)
    expect(md).toContain("> lru wins.")
    expect(md).toContain("> Ties: ttl gives exactly lru's results.")
  })

  it("tables keep short cells on one line, let prose wrap, and pin the first column", () => {
    const tree = parseMarkup(renderHtml(spec))
    const tds = byName(tree, "td")
    expect(tds[1]!.attrs.class).toContain("mk-wrap")
    expect(tds[0]!.attrs.class ?? "").not.toContain("mk-wrap")
    expect(REPORT_CSS).toMatch(/\.mk-table-wrap \{[^}]*overflow-x: auto/)
    expect(REPORT_CSS).toMatch(/\.mk-table td:first-child \{[^}]*position: sticky; left: 0/)
  })
})
