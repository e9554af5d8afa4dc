// Tail latency as latency papers draw it: percentiles on a log axis of 1 / (1 − quantile), so that
// p90, p99, p99.9 and p99.99 are equally spaced and the tail takes most of the chart, not its last pixel.
import type { ChartSpec, Section } from "@meshkit/report"
import type { ScenarioRun } from "../run/scenario-run.js"

type Cdf = ReadonlyArray<readonly [number, number]>

/** The percentile ticks: x = 1 / (1 − q), so p50 → 2, p99 → 100, p99.99 → 10,000. */
export const PERCENTILE_TICKS: ReadonlyArray<readonly [number, string]> = [
  [2, "p50"],
  [10, "p90"],
  [100, "p99"],
  [1000, "p99.9"],
  [10000, "p99.99"]
]

/** The latency at quantile q from a sampled CDF ([µs, fraction ≤]): the first sample at or above q. */
export const latencyAtQuantile = (cdf: Cdf | undefined, q: number): number | undefined =>
  cdf?.find(([, f]) => f >= q - 1e-9)?.[0]

export const p9999Us = (cdf: Cdf | undefined): number | undefined => latencyAtQuantile(cdf, 0.9999)

/**
 * [1 / (1 − q), latency ms] from p50 up to the last quantile below 1 (the maximum has no place on
 * this axis); latencies of 0 are left out (a log y axis).
 */
export const percentilePoints = (cdf: Cdf): Array<readonly [number, number]> =>
  cdf.filter(([us, q]) => q >= 0.5 - 1e-9 && q < 1 - 1e-12 && us > 0).map(([us, q]) => [1 / (1 - q), us / 1000] as const)

export const latencySection = (run: ScenarioRun): Section => {
  const percentiles: ChartSpec = {
    id: "latency-percentiles",
    title: "Latency percentiles (the tail)",
    xLabel: "percentile: 1 − quantile",
    yLabel: "latency (ms)",
    xLog: true,
    yLog: true,
    yFormat: "duration-ms",
    xTickMarks: PERCENTILE_TICKS,
    series: run.runs.map((r) => ({ name: r.result.policy, points: percentilePoints(r.series.latencyCdf) }))
  }
  const cdf: ChartSpec = {
    id: "latency-cdf",
    title: "Request latency (CDF)",
    xLabel: "latency (ms)",
    yLabel: "fraction of requests",
    xLog: true,
    kind: "step",
    xFormat: "duration-ms",
    yFormat: "percent",
    series: run.runs.map((r) => ({ name: r.result.policy, points: r.series.latencyCdf.filter(([x]) => x > 0).map(([x, q]) => [x / 1000, q] as const) }))
  }
  return {
    heading: "Latency",
    text:
      "Arrival to completion: waiting for a load, queueing on the copy, and execution. " +
      "The percentile chart spreads the tail: each step right is ten times rarer (p90, p99, p99.9, p99.99), so a policy whose tail is worse shows it at once. " +
      "Requests served in zero time are off the log axes.",
    charts: [percentiles, cdf]
  }
}
