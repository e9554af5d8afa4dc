import { formatBytes } from "@meshkit/core"
import type { ReportSpec } from "@meshkit/report"
import type { TraceStats } from "../trace/trace-stats.js"

const pct = (x: number) => `${(x * 100).toFixed(2)} %`
const num = (x: number) => (Number.isFinite(x) ? x.toLocaleString("en-US", { maximumFractionDigits: 3 }) : "–")

/** The rows `meshkit trace stats` prints and the report's table shows. */
export const traceStatsRows = (s: TraceStats): Array<[string, string]> => [
  ["requests", num(s.requests)],
  ["objects", num(s.objects)],
  ["duration", `${num(s.durationMs / 1000)} s`],
  ["request bytes", formatBytes(s.requestBytes)],
  ["unique bytes (working set)", formatBytes(s.uniqueBytes)],
  ["one-hit wonders", `${num(s.oneHitWonders)} (${pct(s.oneHitWonderRatio)} of objects)`],
  ["compulsory miss ratio", pct(s.compulsoryMissRatio)],
  ["Zipf exponent (rank-frequency fit)", num(s.zipfExponent)],
  ["requests to the top 1 % of objects", pct(s.top1PercentShare)],
  ["reuse distance p10 / p50 / p90 / p99 (objects)", [s.reuseDistance.p10, s.reuseDistance.p50, s.reuseDistance.p90, s.reuseDistance.p99].map(num).join(" / ")]
]

/** A self-contained HTML report: the summary table, popularity on log-log axes, the reuse CDF. */
export const traceStatsReport = (name: string, s: TraceStats, generatedAt: string): ReportSpec => ({
  title: `Trace statistics: ${name}`,
  generatedAt,
  sections: [
    {
      heading: "Summary",
      text: "Reuse distance is the stack distance: distinct other objects requested between two requests for the same object, i.e. the LRU cache size in objects that makes the second one a hit.",
      table: { columns: ["statistic", "value"], rows: traceStatsRows(s) }
    },
    {
      heading: "Popularity and reuse",
      charts: [
        { id: "rank-frequency", title: "Requests per object by popularity rank", xLabel: "rank", yLabel: "requests", xLog: true, yLog: true, series: [{ name: name, points: s.rankFrequency }] },
        { id: "reuse-cdf", title: "Reuse distance (CDF over reuses)", xLabel: "stack distance (objects)", yLabel: "fraction of reuses", xLog: true, kind: "step", series: [{ name: name, points: s.reuseCdf }] }
      ]
    }
  ]
})
