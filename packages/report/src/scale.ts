import { formatCompact } from "./format.js"

export interface Tick {
  readonly value: number
  readonly label: string
}

/** A continuous axis: its domain, where to draw ticks, and how to place a value on [0, 1]. */
export interface Scale {
  readonly log: boolean
  readonly domain: readonly [number, number]
  readonly ticks: ReadonlyArray<Tick>
  /** unlabelled grid positions: 2..9 × 10^k on log axes */
  readonly minor: ReadonlyArray<number>
  /** 0 at domain start, 1 at domain end */
  readonly fraction: (v: number) => number
}

/** 1, 2 or 5 × 10^k: the round step closest above span / target. */
export const niceStep = (span: number, target: number): number => {
  const raw = span / Math.max(1, target)
  const decade = 10 ** Math.floor(Math.log10(raw))
  const m = raw / decade
  return decade * (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10)
}

/**
 * A linear axis over [min, max] extended to round steps. A degenerate range (one value) is widened
 * around the value so the point sits mid-axis instead of dividing by zero.
 */
export const linearScale = (min: number, max: number, target = 6): Scale => {
  let lo = min
  let hi = max
  if (!(lo < hi)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1
    lo -= pad
    hi += pad
  }
  const step = niceStep(hi - lo, target)
  const start = Math.floor(lo / step + 1e-9) * step
  const end = Math.ceil(hi / step - 1e-9) * step
  const ticks: Tick[] = []
  const count = Math.round((end - start) / step)
  for (let i = 0; i <= count; i++) {
    // Multiplying the index (not accumulating) keeps 0.1 + 0.2 noise out of tick values.
    const v = cleanZero(start + i * step, step)
    ticks.push({ value: v, label: formatCompact(roundTo(v, step)) })
  }
  const span = end - start
  return { log: false, domain: [start, end], ticks, minor: [], fraction: (v) => (v - start) / span }
}

/**
 * A log10 axis over whole decades with a labelled tick per decade (every n-th decade when there are
 * many, the others as minor grid), minor 2..9 marks when there are few, and 2 and 5 labelled too
 * when the data fit one decade.
 * Callers pass only positive values.
 */
export const logScale = (min: number, max: number): Scale => {
  let lo = Math.floor(Math.log10(min) + 1e-12)
  let hi = Math.ceil(Math.log10(max) - 1e-12)
  if (lo >= hi) {
    lo -= 1
    hi += 1
  }
  const decades = hi - lo
  const every = Math.ceil(decades / 8)
  const ticks: Tick[] = []
  const minor: number[] = []
  for (let k = lo; k <= hi; k++) {
    const v = decade(k)
    if ((k - lo) % every === 0) ticks.push({ value: v, label: formatCompact(v) })
    else if (decades <= 24) minor.push(v)
    if (k === hi || decades > 6) continue
    for (let m = 2; m <= 9; m++) {
      if (decades <= 1 && (m === 2 || m === 5)) ticks.push({ value: m * v, label: formatCompact(m * v) })
      else minor.push(m * v)
    }
  }
  ticks.sort((a, b) => a.value - b.value)
  return {
    log: true,
    domain: [decade(lo), decade(hi)],
    ticks,
    minor,
    fraction: (v) => (Math.log10(v) - lo) / decades
  }
}

/**
 * An axis with the caller's ticks (swept sizes, percentiles): it spans the ticks and the data, with
 * a small margin so that the end points are not drawn on the frame. Log axes skip ticks ≤ 0.
 */
export const markedScale = (
  range: readonly [number, number] | undefined,
  log: boolean,
  marks: ReadonlyArray<readonly [number, string]>
): Scale => {
  const usable = marks.filter(([v]) => Number.isFinite(v) && (!log || v > 0))
  let lo = Math.min(...usable.map(([v]) => v), range ? range[0] : Infinity)
  let hi = Math.max(...usable.map(([v]) => v), range ? range[1] : -Infinity)
  if (!(lo <= hi)) return log ? logScale(1, 10) : linearScale(0, 1)
  const to = log ? Math.log10 : (v: number) => v
  let a = to(lo)
  let b = to(hi)
  if (!(a < b)) {
    const pad = log ? 1 : a === 0 ? 1 : Math.abs(a) * 0.1
    a -= pad
    b += pad
  }
  const margin = (b - a) * 0.03
  a -= margin
  b += margin
  const from = log ? (v: number) => 10 ** v : (v: number) => v
  lo = from(a)
  hi = from(b)
  const ticks = [...usable].sort((x, y) => x[0] - y[0]).map(([value, label]) => ({ value, label }))
  return { log, domain: [lo, hi], ticks, minor: [], fraction: (v) => (to(v) - a) / (b - a) }
}

/** 10^k without the float noise of 10 ** -3 = 0.0010000000000000002. */
const decade = (k: number): number => Number(`1e${k}`)

const cleanZero = (v: number, step: number): number => (Math.abs(v) < step * 1e-9 ? 0 : v)

/** v rounded to the precision of step, so labels print 0.3 rather than 0.30000000000000004. */
const roundTo = (v: number, step: number): number => {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1)
  return Number(v.toFixed(Math.min(20, decimals)))
}
