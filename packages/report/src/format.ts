/** Groups the integer digits of a plain decimal string in threes: "1234567.5" → "1,234,567.5". */
const groupThousands = (decimal: string): string => {
  const [int, frac] = decimal.split(".")
  const sign = int!.startsWith("-") ? "-" : ""
  const digits = sign ? int!.slice(1) : int!
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",")
  return sign + grouped + (frac !== undefined ? "." + frac : "")
}

const nonFinite = (n: number): string => (Number.isNaN(n) ? "n/a" : n > 0 ? "∞" : "−∞")

/**
 * The one number format of every report: integers grouped in thousands, fractions with `digits`
 * decimals, tiny non-zero values kept visible (2 significant digits) instead of printing 0.00.
 * Locale-independent on purpose: a report must read the same on every machine.
 */
export const formatNumber = (n: number, digits = 2): string => {
  if (!Number.isFinite(n)) return nonFinite(n)
  if (n === 0) return "0"
  const abs = Math.abs(n)
  if (abs >= 1e15) return n.toExponential(2)
  if (Number.isInteger(n)) return groupThousands(n.toFixed(0))
  const d = Math.max(0, Math.min(20, Math.floor(digits)))
  if (abs < 0.5 * 10 ** -d) return abs < 1e-4 ? n.toExponential(1) : n.toPrecision(2)
  const fixed = n.toFixed(d)
  return groupThousands(/^-0(\.0*)?$/.test(fixed) ? fixed.slice(1) : fixed)
}

/** Three significant figures without exponent, for a value already scaled into a unit. */
const threeFigures = (v: number): string => formatNumber(v, Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2)

/** A duration given in milliseconds, in the unit that reads best: 850 µs, 12.3 ms, 4.56 s, 3.2 min. */
export const formatDuration = (ms: number): string => {
  if (!Number.isFinite(ms)) return nonFinite(ms)
  const abs = Math.abs(ms)
  if (abs === 0) return "0 ms"
  if (abs < 1e-3) return `${threeFigures(ms * 1e6)} ns`
  if (abs < 1) return `${threeFigures(ms * 1e3)} µs`
  if (abs < 1e3) return `${threeFigures(ms)} ms`
  if (abs < 120e3) return `${threeFigures(ms / 1e3)} s`
  if (abs < 7200e3) return `${threeFigures(ms / 60e3)} min`
  return `${threeFigures(ms / 3600e3)} h`
}

/**
 * A duration for an axis tick or a bar label: the unit formatDuration picks, at most three
 * significant figures and no trailing zeros, so ticks read 500 ms, 1 s, 1.5 s, 2 s.
 */
export const formatDurationShort = (ms: number): string => {
  if (!Number.isFinite(ms)) return nonFinite(ms)
  const abs = Math.abs(ms)
  if (abs === 0) return "0 ms"
  const [scale, unit] =
    abs < 1e-3 ? [1e-6, "ns"] : abs < 1 ? [1e-3, "µs"] : abs < 1e3 ? [1, "ms"] : abs < 120e3 ? [1e3, "s"] : abs < 7200e3 ? [60e3, "min"] : [3600e3, "h"]
  return `${formatCompact(Number((ms / scale).toPrecision(3)))} ${unit}`
}

/** A fraction (0.123) as a percentage ("12.3%"). */
export const formatPercent = (fraction: number, digits = 1): string =>
  Number.isFinite(fraction) ? `${formatNumber(fraction * 100, digits)}%` : nonFinite(fraction)

const SI = [
  [1e12, "T"],
  [1e9, "G"],
  [1e6, "M"],
  [1e3, "k"]
] as const

/** Short exact form for axis ticks: 1,500 → "1,500", 25,000 → "25k", 2e6 → "2M", 0.001 → "0.001", 1e-5 → "1e-5". */
export const formatCompact = (n: number): string => {
  if (!Number.isFinite(n)) return nonFinite(n)
  if (n === 0) return "0"
  const abs = Math.abs(n)
  if (abs >= 1e15 || abs < 1e-3) return trimZeros(n.toExponential(2)).replace("e+", "e")
  if (abs >= 1e4) {
    const [scale, suffix] = SI.find(([scale]) => abs >= scale)!
    const scaled = n / scale
    const decimals = decimalsNeeded(scaled)
    // 1,000,000.2 must not print as "1M" beside a "1M" tick: fall back to all the digits.
    if (decimals <= 3) return `${groupThousands(scaled.toFixed(decimals))}${suffix}`
  }
  return groupThousands(n.toFixed(decimalsNeeded(n)))
}

const trimZeros = (s: string): string => s.replace(/(\.\d*?)0+(?=$|e)/, "$1").replace(/\.(?=$|e)/, "")

/** Decimals needed to print n without floating-point noise (0.30000000000000004 → 1), at most 6. */
const decimalsNeeded = (n: number): number => {
  for (let d = 0; d < 6; d++) if (Math.abs(Number(n.toFixed(d)) - n) <= Math.abs(n) * 1e-9) return d
  return 6
}
