import { open } from "node:fs/promises"

/**
 * A large, seeded Zipf trace written straight to libCacheSim's oracleGeneral layout (24-byte
 * little-endian records: uint32 s | uint64 id | uint32 size | int64 next access vtime), plain or
 * as concatenated zstd frames. The replay-speed benchmark needs tens of millions of requests:
 * meshkit's general writer (`meshkit trace convert`) materialises a Trace first (20 bytes per
 * request plus strings per model) and writes field by field, so this generator writes whole
 * blocks of typed arrays instead. Ids use both 32-bit halves (some exceed 2^53), sizes span
 * 1 KiB – 1 MiB, timestamps advance `rate` requests per second.
 */

export interface ZipfOracleOptions {
  readonly requests: number
  readonly objects: number
  readonly alpha: number
  readonly seed: number
  /** requests per trace second */
  readonly rate?: number
}

export interface ZipfOracleTrace {
  readonly requests: number
  /** distinct objects requested */
  readonly objects: number
  /** bytes of the distinct objects requested (libCacheSim's working set size in bytes) */
  readonly uniqueBytes: number
}

const BLOCK_RECORDS = 65_536

/** murmur3's finaliser: a bijection on 32 bits, so distinct ranks get distinct low halves */
const fmix = (x: number): number => {
  let h = x | 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** mulberry32: a small seeded generator of floats in [0, 1) */
const rng = (seed: number) => {
  let a = seed >>> 0
  return (): number => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const objectSize = (rank: number): number => Math.floor(1024 * 2 ** ((fmix(rank ^ 0x27d4eb2f) / 4294967296) * 10))

/** The ranks requested, in order (Zipf over `objects` by inverse CDF). */
const zipfRanks = (o: ZipfOracleOptions): Int32Array => {
  const cdf = new Float64Array(o.objects)
  let sum = 0
  for (let k = 0; k < o.objects; k++) cdf[k] = sum += 1 / (k + 1) ** o.alpha
  for (let k = 0; k < o.objects; k++) cdf[k]! /= sum
  const next = rng(o.seed)
  const ranks = new Int32Array(o.requests)
  for (let i = 0; i < o.requests; i++) {
    const u = next()
    let lo = 0
    let hi = o.objects - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cdf[mid]! < u) lo = mid + 1
      else hi = mid
    }
    ranks[i] = lo
  }
  return ranks
}

/** Writes the trace to each path (a path ending in .zst is zstd-compressed). */
export const writeZipfOracle = async (o: ZipfOracleOptions, paths: readonly string[]): Promise<ZipfOracleTrace> => {
  const ranks = zipfRanks(o)
  const n = ranks.length
  // next access as libCacheSim writes it (the next request's 1-based position), -1 = never
  const next = new Int32Array(n)
  const seen = new Int32Array(o.objects).fill(-1)
  for (let i = n - 1; i >= 0; i--) {
    const r = ranks[i]!
    next[i] = seen[r]!
    seen[r] = i + 1
  }
  let objects = 0
  let uniqueBytes = 0
  for (let r = 0; r < o.objects; r++) {
    if (seen[r]! >= 0) {
      objects++
      uniqueBytes += objectSize(r)
    }
  }
  const rate = o.rate ?? 10_000
  const words = new Uint32Array(BLOCK_RECORDS * 6)
  const bytes = new Uint8Array(words.buffer)
  const z = paths.some((p) => p.endsWith(".zst")) ? await import("@bokuweb/zstd-wasm") : undefined
  if (z) await z.init()
  const files = await Promise.all(paths.map((p) => open(p, "w")))
  try {
    for (let start = 0; start < n; start += BLOCK_RECORDS) {
      const end = Math.min(n, start + BLOCK_RECORDS)
      for (let i = start, p = 0; i < end; i++, p += 6) {
        const r = ranks[i]!
        words[p] = Math.floor(i / rate)
        words[p + 1] = fmix(r)
        words[p + 2] = fmix(r ^ 0x5bd1e995) & 0x3fffff
        words[p + 3] = objectSize(r)
        const nx = next[i]!
        words[p + 4] = nx >>> 0
        words[p + 5] = nx < 0 ? 0xffffffff : 0
      }
      const block = bytes.subarray(0, (end - start) * 24)
      for (let f = 0; f < files.length; f++) await files[f]!.write(paths[f]!.endsWith(".zst") ? z!.compress(block, 3) : block)
    }
  } finally {
    await Promise.all(files.map((f) => f.close()))
  }
  return { requests: n, objects, uniqueBytes }
}
