import { describe, expect, it } from "vitest"
import { renderChartSvg } from "../src/index.js"
import { linearScale, logScale } from "../src/scale.js"
import { byClass, byName, parseMarkup } from "./markup.js"

describe("log axes tick at decades", () => {
  it("spans whole decades around the data with one labelled tick per decade", () => {
    const s = logScale(3, 4500)
    expect(s.domain).toEqual([1, 10000])
    expect(s.ticks.map((t) => t.value)).toEqual([1, 10, 100, 1000, 10000])
    expect(s.ticks.map((t) => t.label)).toEqual(["1", "10", "100", "1,000", "10k"])
    expect(s.minor).toContain(2)
    expect(s.minor).toContain(9000)
  })

  it("places decades evenly: 10 is a third of the way from 1 to 1000", () => {
    const s = logScale(1, 1000)
    expect(s.fraction(10)).toBeCloseTo(1 / 3, 12)
    expect(s.fraction(1000)).toBeCloseTo(1, 12)
  })

  it("labels 2 and 5 as well when the data fit in one decade", () => {
    const s = logScale(20, 80)
    expect(s.ticks.map((t) => t.label)).toEqual(["10", "20", "50", "100"])
  })

  it("puts a single value (or an exact decade) mid-axis", () => {
    const s = logScale(100, 100)
    expect(s.domain).toEqual([10, 1000])
    expect(s.fraction(100)).toBeCloseTo(0.5, 12)
  })

  it("labels every other decade when there are many, keeping small values exact", () => {
    const s = logScale(1e-6, 1e9)
    expect(s.ticks.length).toBeLessThanOrEqual(9)
    expect(s.ticks[0]!.label).toBe("1e-6")
    expect(s.ticks.map((t) => t.label)).toContain("100")
    for (const t of s.ticks) expect(t.label).not.toBe("")
  })

  it("a chart with a log x axis draws the decade labels and names the axis as log", () => {
    const svg = renderChartSvg({
      id: "lat",
      title: "latency",
      xLabel: "latency (ms)",
      yLabel: "fraction",
      xLog: true,
      kind: "step",
      series: [{ name: "a", points: [[0.5, 0.1], [5, 0.5], [50, 0.9], [500, 1]] }]
    })
    const tree = parseMarkup(svg)
    const labels = byName(tree, "text").map((t) => t.text)
    for (const decade of ["0.1", "1", "10", "100", "1,000"]) expect(labels).toContain(decade)
    expect(labels).toContain("latency (ms, log)")
    expect(byClass(tree, "mk-series")[0]!.attrs.d).toMatch(/^M[\d.]+ [\d.]+(H[\d.]+V[\d.]+){3}$/)
  })
})

describe("linear axes tick at round steps", () => {
  it("extends the range to 1-2-5 steps without float noise", () => {
    const s = linearScale(0.1, 0.95)
    expect(s.domain[0]).toBe(0)
    expect(s.domain[1]).toBeCloseTo(1, 12)
    expect(s.ticks.map((t) => t.label)).toEqual(["0", "0.2", "0.4", "0.6", "0.8", "1"])
  })

  it("uses compact labels for large values", () => {
    expect(linearScale(0, 2_000_000).ticks.map((t) => t.label)).toContain("1M")
  })
})
