import { mkdtemp, readdir, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { renderHtml, writeReport, type ReportSpec } from "../src/index.js"
import { byClass, byName, findAll, parseMarkup } from "./markup.js"

const spec: ReportSpec = {
  title: "Simulator report",
  subtitle: "azure sample",
  generatedAt: "2025-03-01T12:34:56.789Z",
  facts: [
    ["machine", "2 cores"],
    ["command", "meshkit sim s.yaml"]
  ],
  sections: [
    {
      heading: "Summary",
      text: "First paragraph.\n\nSecond paragraph.",
      table: { columns: ["policy", "hit ratio", "ok"], rows: [["lru", 0.8123, "✓"], ["fifo", 0.7, "✗"]] }
    },
    {
      heading: "Charts",
      charts: [
        { id: "a", title: "A", xLabel: "x", yLabel: "y", series: [{ name: "s1", points: [[1, 1], [2, 2]] }, { name: "s2", points: [[1, 2], [2, 1]] }] },
        { id: "b", title: "B", xLabel: "x", yLabel: "y", kind: "bar", series: [{ name: "s", points: [[0, 1]] }] }
      ]
    },
    { heading: "Summary", text: "A repeated heading." }
  ]
}

describe("the HTML report", () => {
  const html = renderHtml(spec)
  const tree = parseMarkup(html)

  it("is one well-formed page with inline CSS and no scripts or external URLs", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true)
    expect(byName(tree, "style")).toHaveLength(1)
    expect(byName(tree, "script")).toHaveLength(0)
    expect(byName(tree, "link")).toHaveLength(0)
    const urls = findAll(tree, (e) => Object.entries(e.attrs).some(([k, v]) => (k === "href" || k === "src") && !v.startsWith("#")))
    expect(urls).toHaveLength(0)
    expect(html.match(/https?:\/\/[^"\s)]+/g)?.filter((u) => u !== "http://www.w3.org/2000/svg") ?? []).toEqual([])
  })

  it("has a header with title, subtitle, generation time and facts", () => {
    expect(byName(tree, "title")[0]!.text).toBe("Simulator report")
    expect(byName(tree, "h1")[0]!.text).toBe("Simulator report")
    expect(byClass(tree, "mk-subtitle")[0]!.text).toBe("azure sample")
    const time = byName(tree, "time")[0]!
    expect(time.attrs.datetime).toBe("2025-03-01T12:34:56.789Z")
    expect(time.text).toBe("2025-03-01 12:34:56 UTC")
    expect(byName(tree, "dt").map((d) => d.text)).toEqual(["machine", "command"])
    expect(byName(byName(tree, "dd")[1]!, "code")[0]!.text).toBe("meshkit sim s.yaml")
  })

  it("gives sections unique anchors and a table of contents when there are several", () => {
    const ids = byClass(tree, "mk-section").map((s) => s.attrs.id)
    expect(ids).toEqual(["summary", "charts", "summary-2"])
    expect(byName(byClass(tree, "mk-toc")[0]!, "a").map((a) => a.attrs.href)).toEqual(["#summary", "#charts", "#summary-2"])
    expect(byName(byClass(tree, "mk-section")[0]!, "p").map((p) => p.text)).toEqual(["First paragraph.", "Second paragraph."])
  })

  it("right-aligns numeric columns and marks ✓/✗ cells", () => {
    const ths = byName(tree, "th")
    expect(ths.map((t) => t.attrs.class ?? "")).toEqual(["", "mk-right", ""])
    const tds = byName(tree, "td")
    expect(tds[1]!.text).toBe("0.81")
    expect(tds[1]!.attrs.class).toBe("mk-right")
    expect(tds[2]!.attrs.class).toBe("mk-ok")
    expect(tds[5]!.attrs.class).toBe("mk-bad")
  })

  it("embeds each chart as a wide svg.mk-chart and its narrow phone twin, in one figure, with one path.mk-series per drawn series", () => {
    const charts = byClass(tree, "mk-chart")
    expect(charts.map((c) => c.attrs["data-chart-id"])).toEqual(["a", "a", "b", "b"])
    expect(charts.map((c) => c.attrs["data-variant"])).toEqual(["wide", "narrow", "wide", "narrow"])
    expect(charts.map((c) => c.attrs.viewBox!.split(" ")[2])).toEqual(["720", "400", "720", "400"])
    expect(charts.map((c) => byClass(c, "mk-series").length)).toEqual([2, 2, 1, 1])
    expect(byName(tree, "figure")).toHaveLength(2)
  })

  it("renders the same bytes for the same spec", () => {
    expect(renderHtml(structuredClone(spec))).toBe(html)
  })
})

describe("writing a report", () => {
  it("writes report.html and report.md into a new directory, leaving no partial files", async () => {
    const root = await mkdtemp(join(tmpdir(), "mk-report-"))
    try {
      const dir = join(root, "nested", "scenario")
      const out = await writeReport(dir, spec)
      expect(out).toEqual({ html: join(dir, "report.html"), markdown: join(dir, "report.md") })
      expect((await readdir(dir)).sort()).toEqual(["report.html", "report.md"])
      expect(await readFile(out.html, "utf8")).toBe(renderHtml(spec))
      expect(await readFile(out.markdown, "utf8")).toContain("# Simulator report")
      const named = await writeReport(dir, spec, { name: "bench" })
      expect(await readFile(named.markdown, "utf8")).toContain("see bench.html")
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
