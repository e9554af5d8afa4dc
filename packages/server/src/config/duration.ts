/** Durations as people write them: 250ms, 30s, 5m, 1h, or a bare number of milliseconds. */
const UNITS: Record<string, number> = { "": 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

export const parseDuration = (text: string | number): number => {
  if (typeof text === "number") {
    if (!Number.isFinite(text) || text < 0) throw new RangeError(`invalid duration: ${text}`)
    return text
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text)
  if (!m) throw new RangeError(`invalid duration "${text}" (use e.g. 500ms, 30s, 5m, 1h or milliseconds)`)
  return Number(m[1]) * UNITS[(m[2] ?? "").toLowerCase()]!
}

export const formatDuration = (ms: number): string =>
  ms % 3_600_000 === 0 && ms > 0 ? `${ms / 3_600_000}h`
  : ms % 60_000 === 0 && ms > 0 ? `${ms / 60_000}m`
  : ms % 1000 === 0 && ms > 0 ? `${ms / 1000}s`
  : `${ms}ms`
