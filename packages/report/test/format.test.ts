import { describe, expect, it } from "vitest"
import { formatCompact, formatDuration, formatNumber, formatPercent } from "../src/index.js"

describe("one number format for every report", () => {
  it("groups thousands and fixes decimals, independent of the machine's locale", () => {
    expect(formatNumber(1234567)).toBe("1,234,567")
    expect(formatNumber(-1234.5678)).toBe("-1,234.57")
    expect(formatNumber(0.5, 3)).toBe("0.500")
    expect(formatNumber(12, 3)).toBe("12")
    expect(formatNumber(-0.001)).toBe("-0.0010")
    expect(formatNumber(-0.004, 2)).toBe("-0.0040")
    expect(formatNumber(0.00001234)).toBe("1.2e-5")
    expect(formatNumber(-0)).toBe("0")
  })

  it("names what is not a number", () => {
    expect(formatNumber(NaN)).toBe("n/a")
    expect(formatNumber(Infinity)).toBe("∞")
    expect(formatNumber(-Infinity)).toBe("−∞")
  })

  it("durations pick the unit that reads best", () => {
    expect(formatDuration(0.85)).toBe("850 µs")
    expect(formatDuration(12.345)).toBe("12.3 ms")
    expect(formatDuration(4567)).toBe("4.57 s")
    expect(formatDuration(0.0005)).toBe("500 ns")
    expect(formatDuration(300_000)).toBe("5 min")
  })

  it("percentages and compact tick labels", () => {
    expect(formatPercent(0.1234)).toBe("12.3%")
    expect(formatCompact(1500)).toBe("1,500")
    expect(formatCompact(25_000)).toBe("25k")
    expect(formatCompact(10_250)).toBe("10.25k")
    expect(formatCompact(2e6)).toBe("2M")
    expect(formatCompact(0.3)).toBe("0.3")
    expect(formatCompact(0.1 + 0.2)).toBe("0.3")
    expect(formatCompact(1e-5)).toBe("1e-5")
    expect(formatCompact(1e18)).toBe("1e18")
  })
})

describe("tick labels stay distinct", () => {
  it("a narrow range of large values keeps the digits that tell ticks apart", async () => {
    const { linearScale } = await import("../src/scale.js")
    const labels = linearScale(1_000_000, 1_000_001).ticks.map((t) => t.label)
    expect(new Set(labels).size).toBe(labels.length)
    expect(labels[0]).toBe("1M")
    expect(labels[1]).toBe("1,000,000.2")
  })
})
