// Per tenant: the table of every shown tenant and one small panel per tenant, so a noisy
// neighbour's effect on the others (or a fair-share rule protecting them) is visible per policy.
import { formatBytes } from "@meshkit/core"
import { formatDuration, formatNumber, formatPercent, type ChartSpec, type Section } from "@meshkit/report"
import type { PolicyResult } from "../metrics/result.js"

const TOP_TENANTS = 10
/** Panels beyond this many make the section a wall of charts; the table still lists TOP_TENANTS. */
const PANELS = 6

const us = (v: number): string => formatDuration(v / 1000)

/** Tenants with a share first (the ones the rule protects), then the busiest. */
export const shownTenants = (first: PolicyResult): string[] => {
  const shared = first.tenants.filter((t) => t.shareBytes > 0).map((t) => t.tenant)
  const rest = first.tenants.filter((t) => t.shareBytes === 0).map((t) => t.tenant)
  return [...shared, ...rest].slice(0, Math.max(TOP_TENANTS, shared.length))
}

/** One panel per tenant: p99 latency by policy (full mode) or miss ratio by policy (ideal mode). */
export const tenantPanels = (results: readonly PolicyResult[], mode: "full" | "ideal", tenants: readonly string[]): ChartSpec[] =>
  tenants.slice(0, PANELS).map((tenant) => {
    const t0 = results[0]!.tenants.find((x) => x.tenant === tenant)
    const value = (r: PolicyResult): number | undefined => {
      const t = r.tenants.find((x) => x.tenant === tenant)
      if (!t) return undefined
      return mode === "full" ? t.p99Us / 1000 : t.requests > 0 ? t.misses / t.requests : 0
    }
    const share = t0 && t0.shareBytes > 0 ? `, share ${formatBytes(t0.shareBytes)}` : ""
    return {
      id: `tenant-${tenant}`,
      title: `${tenant}: ${formatNumber(t0?.requests ?? 0, 0)} requests${share}`,
      xLabel: "eviction policy",
      yLabel: mode === "full" ? "p99 latency (ms)" : "miss ratio",
      kind: "bar",
      ...(mode === "full" ? { yFormat: "duration-ms" as const } : {}),
      xTicks: results.map((r) => r.policy),
      series: [
        {
          name: mode === "full" ? "p99 latency" : "miss ratio",
          points: results.flatMap((r, i) => {
            const v = value(r)
            return v === undefined ? [] : [[i, v] as const]
          })
        }
      ]
    }
  })

export const tenantSection = (results: readonly PolicyResult[], mode: "full" | "ideal"): Section => {
  const first = results[0]!
  const top = shownTenants(first)
  const withShares = first.tenants.some((t) => t.shareBytes > 0)
  const cell = (r: PolicyResult, tenant: string): string => {
    const t = r.tenants.find((x) => x.tenant === tenant)
    if (!t) return ""
    if (mode !== "full") return t.requests > 0 ? (t.misses / t.requests).toFixed(3) : "-"
    return `${formatNumber(t.coldStarts, 0)} / ${us(t.p99Us)} / ${formatPercent(t.sloAttainment, 1)}`
  }
  const panels = tenantPanels(results, mode, top)
  return {
    heading: "Tenants",
    text:
      `${top.length} of ${first.tenants.length} tenants${withShares ? " (those with a memory share first, then the busiest)" : ", the busiest"}: ` +
      (mode === "full" ? "cold starts / p99 latency / SLO attainment per policy." : "miss ratio per policy.") +
      ` Fairness (Jain's index over every tenant's SLO attainment): ${results.map((r) => `${r.policy} ${r.fairness.toFixed(3)}`).join(", ")}.` +
      ` The panels show the first ${panels.length} of them, ${mode === "full" ? "p99 latency" : "miss ratio"} by policy.` +
      " The full per-tenant breakdown (requests, misses, cold starts, p99, SLO attainment, share) is in report.json.",
    table: {
      columns: ["tenant", "share", "requests", ...results.map((r) => r.policy)],
      rows: top.map((tenant) => {
        const t = first.tenants.find((x) => x.tenant === tenant)
        return [tenant, t && t.shareBytes > 0 ? formatBytes(t.shareBytes) : "-", formatNumber(t?.requests ?? 0, 0), ...results.map((r) => cell(r, tenant))]
      })
    },
    charts: panels
  }
}
