/**
 * The server's /metrics read as histograms (count, sum and cumulative buckets per `le`, summed
 * over the other labels) and gauges, so that a replay's share of each histogram is the
 * difference of two scrapes. The harness's `sumSamples` adds every sample of a name together,
 * buckets of all `le` included: fine for counters, useless for a tail.
 */

export interface HistogramDelta {
  readonly count: number
  readonly sum: number
  /** [upper bound in the metric's unit, cumulative count], ascending, +Inf last */
  readonly buckets: ReadonlyArray<readonly [number, number]>
}

export interface Scrape {
  readonly histograms: ReadonlyMap<string, HistogramDelta>
  /** every plain sample (gauges, counters) summed over its labels */
  readonly values: ReadonlyMap<string, number>
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/
const LE = /(?:^|,)le="([^"]*)"/

export const parseScrape = (text: string): Scrape => {
  const counts = new Map<string, number>()
  const sums = new Map<string, number>()
  const buckets = new Map<string, Map<number, number>>()
  const values = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const m = SAMPLE.exec(line)
    if (!m) continue
    const v = Number(m[3])
    if (!Number.isFinite(v)) continue
    const name = m[1]!
    if (name.endsWith("_bucket")) {
      const le = LE.exec(m[2] ?? "")
      if (!le) continue
      const base = name.slice(0, -"_bucket".length)
      const bound = le[1] === "+Inf" ? Infinity : Number(le[1])
      let b = buckets.get(base)
      if (!b) buckets.set(base, (b = new Map()))
      b.set(bound, (b.get(bound) ?? 0) + v)
      continue
    }
    if (name.endsWith("_count")) counts.set(name.slice(0, -"_count".length), (counts.get(name.slice(0, -"_count".length)) ?? 0) + v)
    else if (name.endsWith("_sum")) sums.set(name.slice(0, -"_sum".length), (sums.get(name.slice(0, -"_sum".length)) ?? 0) + v)
    values.set(name, (values.get(name) ?? 0) + v)
  }
  const histograms = new Map<string, HistogramDelta>()
  for (const [name, b] of buckets) {
    histograms.set(name, { count: counts.get(name) ?? 0, sum: sums.get(name) ?? 0, buckets: [...b.entries()].sort((x, y) => x[0] - y[0]) })
  }
  return { histograms, values }
}

const EMPTY: HistogramDelta = { count: 0, sum: 0, buckets: [] }

/** What a histogram gained between two scrapes (EMPTY when absent). */
export const histogramDelta = (before: Scrape, after: Scrape, name: string): HistogramDelta => {
  const a = after.histograms.get(name)
  if (!a) return EMPTY
  const b = before.histograms.get(name)
  const prior = new Map(b?.buckets ?? [])
  return { count: a.count - (b?.count ?? 0), sum: a.sum - (b?.sum ?? 0), buckets: a.buckets.map(([le, n]) => [le, n - (prior.get(le) ?? 0)] as const) }
}

export const histogramMean = (h: HistogramDelta): number => (h.count > 0 ? h.sum / h.count : 0)

/**
 * The q-quantile, interpolated linearly inside its bucket (as Prometheus' histogram_quantile
 * does); the last finite bound when it falls in +Inf. 0 for an empty histogram.
 */
export const histogramQuantile = (h: HistogramDelta, q: number): number => {
  if (h.count <= 0 || h.buckets.length === 0) return 0
  const rank = q * h.count
  let lowerBound = 0
  let lowerCount = 0
  for (const [le, cum] of h.buckets) {
    if (cum >= rank) {
      if (le === Infinity) return lowerBound
      const inBucket = cum - lowerCount
      return inBucket <= 0 ? le : lowerBound + ((le - lowerBound) * (rank - lowerCount)) / inBucket
    }
    if (le !== Infinity) lowerBound = le
    lowerCount = cum
  }
  return lowerBound
}
