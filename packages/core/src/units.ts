/** Byte sizes as people write them: 4096, 512KiB, 256MiB, 16GiB, 1.5GB (SI) — case-insensitive. */
const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024, kb: 1000, kib: 1024,
  m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1000 ** 4, tib: 1024 ** 4
}

export const parseBytes = (text: string | number): number => {
  if (typeof text === "number") {
    if (!Number.isFinite(text) || text < 0) throw new RangeError(`invalid byte size: ${text}`)
    return Math.floor(text)
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined
  if (!m || unit === undefined) {
    throw new RangeError(`invalid byte size "${text}" (use a number with an optional unit: KiB, MiB, GiB, TiB, KB, MB, GB)`)
  }
  return Math.floor(Number(m[1]) * unit)
}

export const formatBytes = (n: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]
  let i = 0
  let v = n
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`
}
