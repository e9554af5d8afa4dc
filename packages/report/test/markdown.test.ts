import { describe, expect, it } from "vitest"
import { renderMarkdown, type ReportSpec } from "../src/index.js"

const base: ReportSpec = { title: "Bench", generatedAt: "2025-03-01T12:00:00Z", sections: [] }

const tableLines = (md: string) => md.split("\n").filter((l) => l.startsWith("|"))

/** Cells of a GFM row, splitting on pipes that are not escaped. */
const cells = (row: string) =>
  row
    .slice(2, -2)
    .split(/(?<!\\) \| /)

describe("Markdown reports stand alone on GitHub", () => {
  it("has the title, when it was generated and the facts", () => {
    const md = renderMarkdown({ ...base, subtitle: "gRPC vs REST", facts: [["machine", "2 cores"], ["seed", "7"]] })
    const lines = md.split("\n")
    expect(lines[0]).toBe("# Bench")
    expect(md).toContain("_gRPC vs REST_")
    expect(md).toContain("Generated 2025-03-01 12:00:00 UTC")
    expect(md).toContain("- **machine:** 2 cores")
    expect(md).toContain("- **seed:** 7")
  })

  it("renders tables with an alignment row, right-aligned numbers, escaped pipes and kept ✓/✗", () => {
    const md = renderMarkdown({
      ...base,
      sections: [
        {
          heading: "Results",
          table: {
            columns: ["check", "p99", "passed"],
            rows: [
              ["a | b", 12345.678, "✓"],
              ["multi\nline", "12 ms", "✗ slower"]
            ]
          }
        }
      ]
    })
    const rows = tableLines(md)
    expect(rows).toHaveLength(4)
    expect(rows[1]).toBe("|:---|---:|:---|")
    expect(cells(rows[2]!)).toEqual(["a \\| b", "12,345.68", "✓"])
    expect(cells(rows[3]!)).toEqual(["multi<br>line", "12 ms", "✗ slower"])
  })

  it("honours the alignment asked for and pads ragged rows", () => {
    const md = renderMarkdown({
      ...base,
      sections: [{ heading: "T", table: { columns: ["a", "b"], rows: [[1], [2, 3, 4]], align: ["left", "right"] } }]
    })
    const rows = tableLines(md)
    expect(rows[0]).toBe("| a | b |  |")
    expect(rows[1]).toBe("|:---|---:|---:|")
    expect(rows[2]).toBe("| 1 |  |  |")
  })

  it("turns a CDF chart into a pointer to the HTML and a quantile table", () => {
    const points = Array.from({ length: 100 }, (_, i) => [i + 1, (i + 1) / 100] as const)
    const md = renderMarkdown(
      {
        ...base,
        sections: [
          {
            heading: "Latency",
            charts: [{ id: "cdf", title: "Latency CDF", xLabel: "ms", yLabel: "fraction", kind: "step", series: [{ name: "rest", points }] }]
          }
        ]
      },
      { htmlFile: "bench.html" }
    )
    expect(md).toContain("(chart: Latency CDF — see bench.html)")
    const rows = tableLines(md)
    expect(rows[0]).toBe("| series | p50 ms | p90 ms | p99 ms | max ms |")
    expect(cells(rows[2]!)).toEqual(["rest", "50", "90", "99", "100"])
    expect(md).not.toContain("<svg")
  })

  it("lists bar values per category and summarises curves by range", () => {
    const md = renderMarkdown({
      ...base,
      sections: [
        {
          heading: "Charts",
          charts: [
            { id: "b", title: "Cold starts", xLabel: "policy", yLabel: "count", kind: "bar", xTicks: ["lru", "fifo"], series: [{ name: "run", points: [[0, 10], [1, 20]] }] },
            { id: "l", title: "Hits", xLabel: "t", yLabel: "hit ratio", series: [{ name: "lru", points: [[0, 0.5], [10, 0.9], [20, 0.8]] }] },
            { id: "e", title: "Nothing", xLabel: "t", yLabel: "y", series: [{ name: "s", points: [[1, NaN]] }] }
          ]
        }
      ]
    })
    expect(md).toContain("| policy | run |\n|:---|---:|\n| lru | 10 |\n| fifo | 20 |")
    expect(md).toContain("| lru | 3 | 0 – 20 | 0.50 – 0.90 | 0.80 |")
    expect(md).toContain("(chart: Nothing — see report.html)\n\n_No data._\n\n_Not drawn: 1 non-finite point._")
  })

  it("is the same text for the same input", () => {
    const spec: ReportSpec = { ...base, sections: [{ heading: "x", text: "a\n\nb", table: { columns: ["n"], rows: [[1]] } }] }
    expect(renderMarkdown(spec)).toBe(renderMarkdown(structuredClone(spec)))
  })
})
