// The HTML report as a person sees it: opened in headless Chromium, every chart laid out with visible
// series, nothing fetched, nothing executed. Needs Debian's chromium at /usr/bin/chromium: the harness
// installs it when missing (test/support/system-deps.ts), or the test fails saying what to install.
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { writeReport, type ChartSpec, type ReportSpec } from "@meshkit/report"
import { checkChartsRendered, withHeadlessPage } from "@meshkit/report/browser"
import { CHROMIUM_INSTALL_TIMEOUT_MS, ensureChromium } from "./support/chromium.js"

const SCRIPT_NAME = "<script>window.__pwned = 1</script>"

/** A latency CDF from a deterministic log-normal-like spread around a median (ms). */
const latencyCdf = (median: number, spread: number): Array<readonly [number, number]> => {
  const n = 200
  const xs = Array.from({ length: n }, (_, i) => {
    const u = (i + 0.5) / n
    return median * Math.exp(spread * Math.log(u / (1 - u)))
  })
  return xs.map((x, i) => [x, (i + 1) / n] as const)
}

const charts: ChartSpec[] = [
  {
    id: "latency-cdf",
    title: "Request latency CDF",
    xLabel: "latency (ms)",
    yLabel: "fraction of requests",
    xLog: true,
    kind: "step",
    series: [
      { name: "lru", points: latencyCdf(20, 0.9) },
      { name: "cost-aware", points: latencyCdf(12, 0.7) },
      { name: SCRIPT_NAME, points: latencyCdf(8, 0.5) }
    ]
  },
  {
    id: "hit-ratio",
    title: "Hit ratio over time",
    xLabel: "time (s)",
    yLabel: "hit ratio",
    series: [
      { name: "lru", points: Array.from({ length: 120 }, (_, i) => [i * 30, 0.7 + 0.1 * Math.sin(i / 9)] as const) },
      { name: "cost-aware", points: Array.from({ length: 120 }, (_, i) => [i * 30, 0.8 + 0.08 * Math.sin(i / 7)] as const) }
    ]
  },
  {
    id: "cold-starts",
    title: "Cold starts by policy",
    xLabel: "policy",
    yLabel: "cold starts",
    kind: "bar",
    xTicks: ["lru", "fifo", "cost-aware (gdsf, size-weighted)", "belady (offline bound)"],
    series: [
      { name: "run A", points: [[0, 12345], [1, 14000], [2, 8123], [3, 5000]] },
      { name: "run B", points: [[0, 12000], [1, 13800], [2, 8300], [3, 5100]] }
    ]
  },
  {
    id: "throughput-latency",
    title: "Latency against throughput (log y)",
    xLabel: "throughput (req/s)",
    yLabel: "p99 latency (ms)",
    yLog: true,
    series: [
      { name: "rest", points: [[500, 2.1], [1000, 2.4], [2000, 3.9], [4000, 12], [5000, 85], [4800, 400]] },
      { name: "grpc", points: [[500, 1.6], [1000, 1.8], [2000, 2.5], [4000, 6], [6000, 30], [6500, 0], [NaN, 3]] }
    ]
  },
  { id: "no-evictions", title: "Evictions (none recorded)", xLabel: "time (s)", yLabel: "evictions", series: [{ name: "lru", points: [] }] },
  { id: "single", title: "One measurement", xLabel: "models", yLabel: "load time (ms)", series: [{ name: "onnx", points: [[1, 42]] }] }
]

const spec: ReportSpec = {
  title: "meshkit report rendering check",
  subtitle: "every chart kind, degenerate data and hostile names",
  generatedAt: "2025-03-01T12:34:56.000Z",
  facts: [
    ["machine", "2 cores, 24 GB"],
    ["command", "npx vitest run test/report-render.test.ts"],
    ["seed", "7"]
  ],
  sections: [
    {
      heading: "Summary",
      text: "Cost-aware eviction cuts cold starts by a third in this made-up example.\n\nThe table and charts below exercise the report renderer.",
      table: {
        columns: ["policy", "hit ratio", "cold starts", "p99 latency", "within SLO"],
        rows: [
          ["lru", 0.8123, 12345, "182 ms", "✗ no"],
          ["cost-aware", 0.9012, 8123, "95.2 ms", "✓ yes"],
          [SCRIPT_NAME, 0.5, 1, "1 ms", "✓ yes"]
        ]
      }
    },
    { heading: "Charts", charts }
  ]
}

// Series expected to be drawn per chart (empty series get no path).
const expectedSeries: Record<string, number> = {
  "latency-cdf": 3,
  "hit-ratio": 2,
  "cold-starts": 2,
  "throughput-latency": 2,
  "no-evictions": 0,
  single: 1
}

describe("an HTML report in headless Chromium", () => {
  let dir: string
  let html: string

  beforeAll(async () => {
    ensureChromium()
    dir = await mkdtemp(join(tmpdir(), "mk-report-render-"))
    html = (await writeReport(dir, spec)).html
  }, CHROMIUM_INSTALL_TIMEOUT_MS)
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it("draws every chart with a non-empty box and visible series, fetching and running nothing", async () => {
    const screenshot = join(tmpdir(), "meshkit-report-render.png")
    const result = await checkChartsRendered(html, { screenshot })
    expect(result.problems).toEqual([])
    expect(result.charts.map((c) => c.id)).toEqual(charts.map((c) => c.id))
    for (const chart of result.charts) {
      expect(chart.width, chart.id).toBeGreaterThan(200)
      expect(chart.height, chart.id).toBeGreaterThan(100)
      expect(chart.series, chart.id).toHaveLength(expectedSeries[chart.id]!)
      for (const s of chart.series) {
        expect(s.d, `${chart.id}/${s.name}`).not.toBe("")
        expect(s.length, `${chart.id}/${s.name}`).toBeGreaterThan(0)
      }
    }
    expect(result.charts[0]!.series.map((s) => s.name)).toContain(SCRIPT_NAME)
  })

  it("shows hostile names as text and fits a phone-width screen without sideways scrolling", async () => {
    const seen = await withHeadlessPage(
      html,
      async ({ page }) =>
        page.evaluate(() => {
          const g = globalThis as unknown as {
            __pwned?: number
            innerWidth: number
            document: {
              querySelectorAll(s: string): { length: number }
              documentElement: { scrollWidth: number }
              body: { textContent: string | null }
            }
          }
          return {
            pwned: g.__pwned,
            scripts: g.document.querySelectorAll("script").length,
            text: g.document.body.textContent ?? "",
            scrollWidth: g.document.documentElement.scrollWidth,
            viewport: g.innerWidth
          }
        }),
      { width: 390, height: 844 }
    )
    expect(seen.pwned).toBeUndefined()
    expect(seen.scripts).toBe(0)
    expect(seen.text).toContain(SCRIPT_NAME)
    expect(seen.scrollWidth).toBeLessThanOrEqual(seen.viewport)
  })
})
