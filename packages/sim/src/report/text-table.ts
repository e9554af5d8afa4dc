import { formatBytes } from "@meshkit/core"
import { formatDuration } from "@meshkit/report"
import type { PolicyResult } from "../metrics/result.js"

/** The comparison as an aligned plain-text table for the terminal. */
export const comparisonText = (results: readonly PolicyResult[], mode: "full" | "ideal"): string => {
  const full = mode === "full"
  const head = [
    "policy",
    "miss ratio",
    "byte miss",
    "cold starts",
    ...(full ? ["cold-start s", "p50", "p99", "p99.9", "SLO met"] : []),
    "peak mem",
    "mean mem",
    "loads",
    "evictions",
    "req/s (wall)"
  ]
  const lat = (us: number) => formatDuration(us / 1000)
  const rows = results.map((r) => [
    r.policy,
    r.missRatio.toFixed(4),
    r.byteMissRatio.toFixed(4),
    String(r.coldStarts),
    ...(full
      ? [r.coldStartSeconds.toFixed(1), lat(r.latencyUs.p50), lat(r.latencyUs.p99), lat(r.latencyUs.p999), `${(r.sloAttainment * 100).toFixed(2)}%`]
      : []),
    formatBytes(r.peakMemoryBytes),
    formatBytes(r.meanMemoryBytes),
    String(r.loads),
    String(r.evictions),
    `${(r.requestsPerSecond / 1e6).toFixed(2)}M`
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  const failed = results.filter((r) => r.failed > 0)
  return [
    line(head),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    ...(failed.length > 0 ? [`(${failed[0]!.failed} requests failed: their model is larger than an instance's memory)`] : [])
  ].join("\n")
}
