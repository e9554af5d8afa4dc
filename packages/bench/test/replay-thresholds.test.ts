import { describe, expect, it } from "vitest"
import { compareReplay, replayMarkdown } from "../src/replay/replay-compare.js"
import { REPLAY_KIND, type ReplayReport, type ReplaySide } from "../src/replay/replay-report.js"

/** The scenario's regression thresholds applied to a replay's two sides. */
const side = (o: Partial<ReplaySide> & { p50?: number; p99?: number; slices?: ReplaySide["slices"] }): ReplaySide => ({
  label: "x",
  requests: 1000,
  ok: 1000 - (o.errors ?? 0),
  errors: o.errors ?? 0,
  statuses: {},
  latencyUs: { p50: o.p50 ?? 1000, p99: o.p99 ?? 10_000, p999: 20_000, max: 30_000, mean: 2000 },
  tenants: [],
  coldStarts: o.coldStarts ?? 50,
  hitRatio: o.hitRatio ?? 0.95,
  cdf: [],
  failureSamples: [],
  ...(o.slices ? { slices: o.slices } : {})
})

const report = (base: ReplaySide, next: ReplaySide, thresholds: ReplayReport["thresholds"]): ReplayReport => ({
  kind: REPLAY_KIND,
  scenario: "s",
  generatedAt: "2026-01-01T00:00:00.000Z",
  command: "meshkit bench replay s.yaml",
  settings: { minutes: 1, durationSeconds: 10, compress: 6, slices: 0, requests: 1000, models: 10, memoryBytes: null, eviction: "lru", generatedModels: true, loadAverage: 1 },
  thresholds,
  base,
  new: next
})

const T = { p99: "+10%", hitRatio: "-1pt", errors: 0 }

describe("replay thresholds", () => {
  it("passes identical sides", () => {
    expect(compareReplay(report(side({}), side({}), T)).failures).toEqual([])
  })
  it("flags p99 beyond +10% and not within it", () => {
    expect(compareReplay(report(side({ p99: 10_000 }), side({ p99: 10_900 }), T)).failures).toEqual([])
    expect(compareReplay(report(side({ p99: 10_000 }), side({ p99: 11_200 }), T)).failures.map((r) => r.figure)).toEqual(["latency p99"])
  })
  it("flags a hit ratio drop beyond 1 point", () => {
    expect(compareReplay(report(side({ hitRatio: 0.95 }), side({ hitRatio: 0.945 }), T)).failures).toEqual([])
    expect(compareReplay(report(side({ hitRatio: 0.95 }), side({ hitRatio: 0.93 }), T)).failures.map((r) => r.figure)).toEqual(["hit ratio"])
  })
  it("flags errors on the new side above the limit", () => {
    expect(compareReplay(report(side({}), side({ errors: 1 }), T)).failures.map((r) => r.figure)).toEqual(["errors"])
  })
  it("gates latency on the median per-slice ratio: one slow slice does not fail the run, a slow build does", () => {
    const b = [{ p50: 1000, p99: 10_000, p999: 20_000 }, { p50: 1000, p99: 10_000, p999: 20_000 }, { p50: 1000, p99: 10_000, p999: 20_000 }]
    const oneBad = [{ p50: 9000, p99: 90_000, p999: 90_000 }, { p50: 1000, p99: 10_000, p999: 20_000 }, { p50: 1050, p99: 10_300, p999: 20_000 }]
    expect(compareReplay(report(side({ slices: b }), side({ p99: 90_000, slices: oneBad }), T)).failures).toEqual([])
    const slow = b.map((s) => ({ ...s, p99: s.p99 * 1.5 }))
    expect(compareReplay(report(side({ slices: b }), side({ slices: slow }), T)).failures.map((r) => r.figure)).toEqual(["latency p99"])
  })
  it("renders a Markdown table with the verdict", () => {
    const md = replayMarkdown(report(side({ p99: 10_000 }), side({ p99: 20_000 }), T))
    expect(md).toMatch(/\| latency p99 \| 10\.0 ms \| 20\.0 ms \| \+100\.0 % \| \+10% \| ✗ \|/)
    expect(md).toContain("**✗ regression:**")
  })
})
