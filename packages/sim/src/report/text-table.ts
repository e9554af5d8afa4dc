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
    ...(full ? ["cold-start s", "p50", "p99", "p99.9", "SLO met", "fairness"] : []),
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
      ? [
          r.coldStartSeconds.toFixed(1),
          lat(r.latencyUs.p50),
          lat(r.latencyUs.p99),
          lat(r.latencyUs.p999),
          `${(r.sloAttainment * 100).toFixed(2)}%`,
          r.fairness.toFixed(3)
        ]
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
    ...(failed.length > 0 ? [`(${failed[0]!.failed} requests failed: their model is larger than an instance's memory)`] : []),
    ...(full && results.some((r) => r.tenants.some((t) => t.shareBytes > 0)) ? ["", tenantText(results)] : [])
  ].join("\n")
}

/** With tenant shares: per tenant and policy, cold starts / p99 / SLO attainment. */
export const tenantText = (results: readonly PolicyResult[]): string => {
  const first = results[0]!
  const names = [...first.tenants].sort((a, b) => b.shareBytes - a.shareBytes || b.requests - a.requests).slice(0, 12).map((t) => t.tenant)
  const head = ["tenant", "share", ...results.map((r) => `${r.policy}: cold / p99 / SLO`)]
  const rows = names.map((name) => {
    const share = first.tenants.find((t) => t.tenant === name)!.shareBytes
    return [
      name,
      share > 0 ? formatBytes(share) : "-",
      ...results.map((r) => {
        const t = r.tenants.find((x) => x.tenant === name)
        return t ? `${t.coldStarts} / ${formatDuration(t.p99Us / 1000)} / ${(t.sloAttainment * 100).toFixed(1)}%` : ""
      })
    ]
  })
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}
