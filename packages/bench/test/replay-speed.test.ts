import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { materialize, oracleGeneralTrace } from "@meshkit/sim"
import { parseCachesimOutput } from "../src/replay-speed/cachesim.js"
import { writeZipfOracle } from "../src/replay-speed/zipf-oracle.js"

const dir = mkdtempSync(join(tmpdir(), "meshkit-replay-speed-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("replay-speed: the Zipf oracleGeneral trace it writes", () => {
  it("is valid oracleGeneral, plain and .zst alike: the documented fields, next access at the next request for the same id (1-based, as libCacheSim's traceConv)", async () => {
    const plain = join(dir, "z.oracleGeneral")
    const zst = `${plain}.zst`
    const t = await writeZipfOracle({ requests: 30_000, objects: 2_000, alpha: 0.9, seed: 3, rate: 1000 }, [plain, zst])
    expect(t.requests).toBe(30_000)
    const b = readFileSync(plain)
    expect(b.length).toBe(30_000 * 24)
    const ids = Array.from({ length: 30_000 }, (_, i) => b.readBigUInt64LE(i * 24 + 4))
    const lastSeen = new Map<bigint, number>()
    for (let i = 30_000 - 1; i >= 0; i--) {
      expect(b.readUInt32LE(i * 24)).toBe(Math.floor(i / 1000))
      const size = b.readUInt32LE(i * 24 + 12)
      expect(size).toBeGreaterThanOrEqual(1024)
      expect(size).toBeLessThanOrEqual(1024 * 1024)
      expect(b.readBigInt64LE(i * 24 + 16)).toBe(BigInt(lastSeen.get(ids[i]!) ?? -1))
      lastSeen.set(ids[i]!, i + 1)
    }
    expect(lastSeen.size).toBe(t.objects)
    expect(ids.some((id) => id >= 2n ** 53n)).toBe(true)
    // Zipf 0.9: the most requested object gets far more than its uniform share
    const counts = new Map<bigint, number>()
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1)
    expect(Math.max(...counts.values())).toBeGreaterThan(20 * (30_000 / 2_000))
    // meshkit reads both files to the same requests, and sizes add up to the working set
    const a = oracleGeneralTrace({ path: plain })
    const z = oracleGeneralTrace({ path: zst })
    const ma = await materialize(a)
    const mz = await materialize(z)
    expect(Array.from(mz.model)).toEqual(Array.from(ma.model))
    expect(a.models.sizes.reduce((x, y) => x + y, 0)).toBe(t.uniqueBytes)
  })
})

describe("replay-speed: reading libCacheSim's cachesim output", () => {
  it("takes requests, miss ratio and throughput from its result line (bin/cachesim/sim.c's format)", () => {
    const out =
      "[INFO] trace path: z.oracleGeneral, trace_type ORACLE_GENERAL_TRACE, ofilepath z.cachesim, 2 threads\n" +
      "/tmp/z.oracleGeneral LRU cache size    14GiB,         20000000 req, miss ratio 0.3665, throughput 12.34 MQPS\n"
    expect(parseCachesimOutput(out)).toEqual({ requests: 20_000_000, missRatio: 0.3665, requestsPerSecond: 12_340_000 })
    expect(parseCachesimOutput("result/z LRU cache size 150MiB, 200000 req, miss ratio 0.4438, byte miss ratio 0.4466\n")).toBeUndefined()
  })
})
