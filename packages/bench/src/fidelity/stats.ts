/** The small statistics the fidelity calibration uses (quantiles by rank, least squares). */

export const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)
export const mean = (xs: ReadonlyArray<number>) => (xs.length === 0 ? 0 : sum(xs) / xs.length)
export const quantile = (xs: ReadonlyArray<number>, q: number) => {
  if (xs.length === 0) return 0
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!
}
export const median = (xs: ReadonlyArray<number>) => quantile(xs, 0.5)
export const ratio = (a: number, b: number) => (b > 0 ? a / b : 0)

/** least squares y = intercept + slope · x */
export const linearFit = (pts: ReadonlyArray<readonly [number, number]>): { intercept: number; slope: number } => {
  const n = pts.length
  if (n === 0) return { intercept: 0, slope: 0 }
  const mx = mean(pts.map((p) => p[0]))
  const my = mean(pts.map((p) => p[1]))
  let sxx = 0
  let sxy = 0
  for (const [x, y] of pts) {
    sxx += (x - mx) ** 2
    sxy += (x - mx) * (y - my)
  }
  const slope = sxx === 0 ? 0 : sxy / sxx
  return { intercept: my - slope * mx, slope }
}

/** a progress-line number: 3 significant figures or so */
export const fmtS = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2))

export const KIB = 1024
export const MIB = 1024 ** 2
