/** Just enough of the Prometheus text format to read counters: each sample's value summed over its labels. */
export const sumSamples = (text: string): Map<string, number> => {
  const sums = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line)
    if (!m) continue
    const v = Number(m[3])
    if (!Number.isFinite(v)) continue
    sums.set(m[1]!, (sums.get(m[1]!) ?? 0) + v)
  }
  return sums
}

/** The first of `names` present in the samples (metric names differ between ModelMesh-style and meshkit-style). */
export const firstOf = (sums: ReadonlyMap<string, number>, names: ReadonlyArray<string>): number | undefined => {
  for (const n of names) {
    const v = sums.get(n)
    if (v !== undefined) return v
  }
  return undefined
}

export const fetchMetrics = async (baseUrl: string): Promise<Map<string, number>> => {
  const res = await fetch(`${baseUrl}/metrics`)
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`)
  return sumSamples(await res.text())
}
