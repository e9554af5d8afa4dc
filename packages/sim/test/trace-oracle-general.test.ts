import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it, vi } from "vitest"
import {
  type Trace,
  csvTrace,
  generatedTrace,
  isOracleGeneralPath,
  materialize,
  oracleGeneralTrace,
  openTrace,
  traceStats,
  writeCsvTrace,
  writeOracleGeneral
} from "../src/trace/index.js"
import { failure } from "./trace-failure.js"
import { defaultCluster, simulate, type SimConfig } from "../src/index.js"

// libCacheSim's oracleGeneral layout, written here byte by byte from its documentation:
// 24-byte little-endian records: uint32 timestamp (s), uint64 obj_id, uint32 obj_size, int64 next_access_vtime.

const dir = mkdtempSync(join(tmpdir(), "meshkit-oracle-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0

type Rec = readonly [ts: number, id: bigint, size: number, next: bigint]
const encode = (records: ReadonlyArray<Rec>): Buffer => {
  const b = Buffer.alloc(records.length * 24)
  records.forEach(([ts, id, size, next], i) => {
    b.writeUInt32LE(ts, i * 24)
    b.writeBigUInt64LE(id, i * 24 + 4)
    b.writeUInt32LE(size, i * 24 + 12)
    b.writeBigInt64LE(next, i * 24 + 16)
  })
  return b
}
const file = (bytes: Buffer, ext = ".oracleGeneral"): string => {
  const path = join(dir, `t${files++}${ext}`)
  writeFileSync(path, bytes)
  return path
}
const requests = async (trace: Trace) => {
  const m = await materialize(trace)
  return Array.from(m.timeMs, (t, i) => [t, trace.models.ids[m.model[i]!], trace.models.sizes[m.model[i]!]] as const)
}
describe("oracleGeneral traces (libCacheSim's binary format)", () => {
  it("reads every field of the documented record layout: seconds → ms from the first, 64-bit ids, sizes", async () => {
    const path = file(encode([[1000, 7n, 4096, 2n], [1000, 2n ** 53n + 1n, 100, -1n], [1002, 7n, 4096, -1n], [1005, 0n, 0, -1n]]))
    const t = oracleGeneralTrace({ path })
    expect(await requests(t)).toEqual([
      [0, "7", 4096],
      [0, "9007199254740993", 100],
      [2000, "7", 4096]
      // the zero-size record is dropped, as libCacheSim's readers do (ignore_size_zero_req)
    ])
    expect(t.models.tenants).toEqual(["default", "default"])
    const kept = oracleGeneralTrace({ path, zeroSize: "one-byte" })
    expect((await requests(kept)).at(-1)).toEqual([5000, "0", 1])
  })

  it("streams records across the reader's blocks (65,536 records), and replays the same on a second pass", async () => {
    const n = 100_003 // 2.4 MB: one whole block and a partial one
    const recs: Rec[] = Array.from({ length: n }, (_, i) => [Math.floor(i / 1000), BigInt((i * 7919) % 5003), 1000 + ((i * 7919) % 5003), -1n])
    const t = oracleGeneralTrace({ path: file(encode(recs)) })
    const first = await requests(t)
    expect(first.length).toBe(n)
    for (const i of [0, 43_690, 65_535, 65_536, 87_381, n - 1]) expect(first[i]).toEqual([Math.floor(i / 1000) * 1000, String((i * 7919) % 5003), 1000 + ((i * 7919) % 5003)])
    expect(await requests(t)).toEqual(first)
  })

  it("reads zstd-compressed files (.zst, as published) exactly like the plain file", async () => {
    const recs: Rec[] = Array.from({ length: 50_000 }, (_, i) => [i >> 8, BigInt(i % 977), 512, -1n])
    const plain = file(encode(recs))
    const zst = `${plain}.zst`
    // Debian's zstd makes the file when it is there (what libCacheSim users run); else meshkit's own writer does
    if (existsSync("/usr/bin/zstd")) execFileSync("/usr/bin/zstd", ["-q", "-f", plain, "-o", zst])
    else await writeOracleGeneral(oracleGeneralTrace({ path: plain }), zst, { zstd: true })
    expect(isOracleGeneralPath(zst)).toBe(true)
    expect(await requests(openTrace({ oracleGeneral: { path: zst } }))).toEqual(await requests(oracleGeneralTrace({ path: plain })))
  })

  it("says which file is truncated, or not zstd", async () => {
    const whole = encode([[1, 1n, 10, -1n], [2, 2n, 10, -1n]])
    const e = await failure(oracleGeneralTrace({ path: file(whole.subarray(0, 40)) }))
    expect(e.message).toMatch(/t\d+\.oracleGeneral: the file ends inside a record \(16 bytes after request 1\)/)
    const z = await failure(oracleGeneralTrace({ path: file(whole, ".oracleGeneral.zst") }))
    expect(z.message).toMatch(/not a valid zstd stream/)
  })

  it("stops after `requests` records when asked", async () => {
    const t = oracleGeneralTrace({ path: file(encode(Array.from({ length: 1000 }, (_, i): Rec => [i, BigInt(i), 1, -1n]))), requests: 10 })
    expect((await requests(t)).length).toBe(10)
  })
})

describe("writing oracleGeneral (meshkit trace convert)", () => {
  it("writes the documented layout with the next access of each request, and reads back the same requests", async () => {
    const src = csvTrace({ path: file(Buffer.from("time_ms,model,size_bytes\n0,5,100\n1500,9,200\n2000,5,100\n9000,9,200\n"), ".csv") })
    const out = join(dir, "w.oracleGeneral")
    const r = await writeOracleGeneral(src, out)
    expect(r).toEqual({ requests: 4, models: 2, renumbered: false })
    const b = readFileSync(out)
    expect(b.length).toBe(96)
    const rec = (i: number) => [b.readUInt32LE(i * 24), b.readBigUInt64LE(i * 24 + 4), b.readUInt32LE(i * 24 + 12), b.readBigInt64LE(i * 24 + 16)]
    expect([0, 1, 2, 3].map(rec)).toEqual([
      [0, 5n, 100, 3n],
      [1, 9n, 200, 4n],
      [2, 5n, 100, -1n],
      [9, 9n, 200, -1n]
    ])
    expect(await requests(oracleGeneralTrace({ path: out }))).toEqual([[0, "5", 100], [1000, "9", 200], [2000, "5", 100], [9000, "9", 200]])
  })

  it("renumbers ids that are not integers, and round-trips through zstd", async () => {
    const g = generatedTrace({ models: 50, requests: 5000, seed: 4 })
    const out = join(dir, "g.oracleGeneral.zst")
    const r = await writeOracleGeneral(g, out, { zstd: true })
    expect(r.renumbered).toBe(true)
    const back = await requests(oracleGeneralTrace({ path: out }))
    const orig = await requests(g)
    expect(back.length).toBe(orig.length)
    // same popularity structure: request i goes to the same model as before (ids are now indices)
    const index = new Map(g.models.ids.map((id, i) => [id, String(i)]))
    back.forEach(([t, id, size], i) => {
      expect(id).toBe(index.get(orig[i]![1]!))
      expect(size).toBe(orig[i]![2])
      expect(t).toBe(Math.floor((orig[i]![0] - orig[0]![0]) / 1000) * 1000)
    })
  })

  it("refuses a model larger than the format's 32-bit size field, naming it", async () => {
    const big = csvTrace({ path: file(Buffer.from(`time_ms,model,size_bytes\n0,huge,${2 ** 33}\n`), ".csv") })
    await expect(writeOracleGeneral(big, join(dir, "big.oracleGeneral"))).rejects.toThrow(/model "huge" is 8589934592 bytes: oracleGeneral sizes are 32-bit/)
  })
})

describe("simulating an oracleGeneral trace", () => {
  it("gives the same ideal-mode results as the same requests in CSV", async () => {
    const recs: Rec[] = Array.from({ length: 20_000 }, (_, i) => [i >> 4, BigInt((i * 31) % 701 % (1 + (i % 97))), 1000 * (1 + ((i * 31) % 701 % (1 + (i % 97))) % 13), -1n])
    const og = oracleGeneralTrace({ path: file(encode(recs)) })
    const csvPath = join(dir, "same.csv")
    await writeCsvTrace(og, csvPath)
    const cfg = (eviction: string): SimConfig => ({ mode: "ideal", cluster: { ...defaultCluster, memoryBytes: 40_000 }, eviction, placement: "modelmesh", routing: "least-in-flight", scaling: "none", seed: 1, sloMs: 100 })
    // these records' next-access fields are unset (-1): belady computes next uses (and warns)
    vi.spyOn(process, "emitWarning").mockImplementation(() => undefined)
    for (const policy of ["lru", "fifo", "belady"]) {
      const a = (await simulate(oracleGeneralTrace({ path: og.name.replace(/^oracleGeneral /, "") }), cfg(policy))).result
      const b = (await simulate(csvTrace({ path: csvPath }), cfg(policy))).result
      expect({ policy, misses: a.misses, hits: a.hits, evictions: a.evictions }).toEqual({ policy, misses: b.misses, hits: b.hits, evictions: b.evictions })
    }
    vi.restoreAllMocks()
  })
})

describe("offline bounds from the recorded next access (oracleGeneral's fourth field)", () => {
  const cfg = (eviction: string, memoryBytes: number): SimConfig => ({ mode: "ideal", cluster: { ...defaultCluster, memoryBytes }, eviction, placement: "modelmesh", routing: "least-in-flight", scaling: "none", seed: 1, sloMs: 100 })
  const counts = (r: { misses: number; hits: number; evictions: number }) => ({ misses: r.misses, hits: r.hits, evictions: r.evictions })

  it("replays belady and belady-size streamed from the field, with the results of computing next uses", async () => {
    // one request per second, so the ms clock the computed path uses orders requests as positions do
    const gen = generatedTrace({ models: 300, requests: 30_000, zipf: 0.9, sizeMedian: 1000, sizeSigma: 1, seed: 9 })
    const g = await materialize(gen)
    const rows = Array.from(g.model, (m, i) => `${i * 1000},${m},${gen.models.sizes[m]}`)
    const csvPath = file(Buffer.from(`time_ms,model,size_bytes\n${rows.join("\n")}\n`), ".csv")
    const ogPath = join(dir, "recorded.oracleGeneral")
    await writeOracleGeneral(csvTrace({ path: csvPath }), ogPath)
    const warned = vi.spyOn(process, "emitWarning")
    for (const policy of ["belady", "belady-size"]) {
      for (const memory of [20_000, 200_000]) {
        const og = oracleGeneralTrace({ path: ogPath })
        expect(og.recordsNextAccess).toBe(true)
        const a = (await simulate(og, cfg(policy, memory))).result
        const b = (await simulate(csvTrace({ path: csvPath }), cfg(policy, memory))).result
        expect({ policy, memory, ...counts(a) }).toEqual({ policy, memory, ...counts(b) })
      }
    }
    expect(warned).not.toHaveBeenCalled()
    warned.mockRestore()
  })

  it("takes next uses from the field, not from the requests: a field that names another time changes belady's choice", async () => {
    // A B C A, room for two. Truthfully B never comes back, so at C belady evicts B and A hits.
    // Here B's record claims it comes next at position 3 (C's): belady keeps B, evicts A, A misses.
    const truthful = file(encode([[0, 1n, 100, 4n], [1, 2n, 100, -1n], [2, 3n, 100, -1n], [3, 1n, 100, -1n]]))
    const claimed = file(encode([[0, 1n, 100, 4n], [1, 2n, 100, 3n], [2, 3n, 100, -1n], [3, 1n, 100, -1n]]))
    expect((await simulate(oracleGeneralTrace({ path: truthful }), cfg("belady", 200))).result.misses).toBe(3)
    expect((await simulate(oracleGeneralTrace({ path: claimed }), cfg("belady", 200))).result.misses).toBe(4)
  })

  it("computes next uses itself, with a warning, when the field contradicts the requests (unset, or 0-based)", async () => {
    const warned = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined)
    const unset = file(encode([[0, 1n, 100, -1n], [1, 2n, 100, -1n], [2, 3n, 100, -1n], [3, 1n, 100, -1n]]))
    const zeroBased = file(encode([[0, 1n, 100, 3n], [1, 2n, 100, -1n], [2, 3n, 100, -1n], [3, 1n, 100, -1n]]))
    for (const path of [unset, zeroBased]) {
      expect((await simulate(oracleGeneralTrace({ path }), cfg("belady", 200))).result.misses).toBe(3)
    }
    expect(warned).toHaveBeenCalledTimes(2)
    expect(String(warned.mock.calls[0]![0])).toMatch(/record 4 \(its previous record said never again; positions are 1-based/)
    expect(String(warned.mock.calls[1]![0])).toMatch(/record 4 \(its previous record said next at position 3;/)
    warned.mockRestore()
  })

  it("offers no next accesses when the replay is cut short (`requests`): they would point past the cut", () => {
    expect(oracleGeneralTrace({ path: "x.oracleGeneral", requests: 10 }).recordsNextAccess).toBe(false)
  })
})

describe("trace statistics", () => {
  it("counts one-hit wonders and measures reuse as stack distance, hand-worked", async () => {
    // A B C A B B D: reuses A (B, C between: 2), B (C, A: 2), B (none: 0); D and C once
    const t = csvTrace({ path: file(Buffer.from("time_ms,model,size_bytes\n0,A,10\n1,B,20\n2,C,30\n3,A,10\n4,B,20\n5,B,20\n6,D,40\n"), ".csv") })
    const s = await traceStats(t)
    expect(s).toMatchObject({ requests: 7, objects: 4, requestBytes: 150, uniqueBytes: 100, oneHitWonders: 2, oneHitWonderRatio: 0.5, durationMs: 6 })
    expect(s.compulsoryMissRatio).toBeCloseTo(4 / 7, 12)
    expect(s.reuseDistance.reuses).toBe(3)
    expect(s.reuseDistance.p10).toBe(0)
    expect(s.reuseDistance.p99).toBe(2)
    expect(s.reuseCdf.at(-1)).toEqual([2, 1])
    expect(s.rankFrequency[0]).toEqual([1, 3])
  })

  it("fits the Zipf exponent of a generated trace close to the one it was generated with", async () => {
    const s = await traceStats(generatedTrace({ models: 2000, requests: 200_000, zipf: 1, arrival: "poisson", seed: 5 }))
    expect(s.zipfExponent).toBeGreaterThan(0.8)
    expect(s.zipfExponent).toBeLessThan(1.2)
  })
})
