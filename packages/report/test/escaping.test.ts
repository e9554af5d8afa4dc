import { describe, expect, it } from "vitest"
import { renderChartSvg, renderHtml, renderMarkdown, type ChartSpec, type ReportSpec } from "../src/index.js"
import { byClass, byName, parseMarkup, textOf } from "./markup.js"

const EVIL = `<script>alert("x")</script> & 'quotes' | pipes`

const evilChart: ChartSpec = {
  id: `chart"><script>1</script>`,
  title: EVIL,
  xLabel: EVIL,
  yLabel: EVIL,
  kind: "bar",
  xTicks: [EVIL, "plain"],
  series: [{ name: EVIL, points: [[0, 1], [1, 2]] }]
}

const evilReport: ReportSpec = {
  title: EVIL,
  subtitle: EVIL,
  generatedAt: `2025-01-01"><script>`,
  facts: [[EVIL, EVIL], ["command", "meshkit sim `x` <y>"]],
  sections: [
    {
      heading: EVIL,
      text: `${EVIL}\n\n# not a heading\n- not a list`,
      table: { columns: [EVIL, "n"], rows: [[EVIL, 1]] },
      charts: [evilChart, { ...evilChart, kind: "line", id: "line" }]
    }
  ]
}

describe("text from user files is never markup", () => {
  it("an SVG chart keeps <script> in names, labels and ticks as text", () => {
    const svg = renderChartSvg(evilChart)
    const tree = parseMarkup(svg)
    expect(byName(tree, "script")).toHaveLength(0)
    const root = byName(tree, "svg")[0]!
    expect(root.attrs["data-chart-id"]).toBe(evilChart.id)
    expect(textOf(root)).toContain(`<script>alert("x")</script>`)
    expect(byClass(tree, "mk-series")[0]!.attrs["data-series"]).toBe(EVIL)
  })

  it("the HTML page has no script element and shows every user string literally", () => {
    const html = renderHtml(evilReport)
    expect(html).not.toMatch(/<script/i)
    const tree = parseMarkup(html)
    expect(byName(tree, "script")).toHaveLength(0)
    expect(byName(tree, "h1")[0]!.text).toBe(EVIL)
    expect(byName(tree, "h2")[0]!.text).toBe(EVIL)
    expect(byName(tree, "td")[0]!.text).toBe(EVIL)
    expect(byName(tree, "dt")[0]!.text).toBe(EVIL)
    expect(byName(tree, "time")[0]!.attrs.datetime).toBe(`2025-01-01"><script>`)
  })

  it("the Markdown shows <script> as entities and escapes what would become markup", () => {
    const md = renderMarkdown(evilReport)
    expect(md).not.toMatch(/<script/i)
    expect(md).toContain("&lt;script&gt;")
    expect(md).toContain("\\# not a heading")
    expect(md).toContain("\\- not a list")
    // the command keeps its backticks inside a longer code fence
    expect(md).toContain("``meshkit sim `x` <y>``")
  })
})
