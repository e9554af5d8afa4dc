import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { open } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Trace, type ZstdDecoderName, materialize, oracleGeneralTrace, writeOracleGeneral, zstdDecoderInUse, zstdStream } from "../src/trace/index.js"
import { ensureDebianPackage, listedDependency } from "./support/system-deps.js"
import { failure } from "./trace-failure.js"

// The .zst side of the oracleGeneral reader: files made by Debian's zstd (as libCacheSim users
// make them), by meshkit's writer, and frames written byte by byte from the zstd format
// specification (RFC 8878), all read back to exactly the plain file's bytes and records.

const dir = mkdtempSync(join(tmpdir(), "meshkit-oracle-zst-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let zstd = ""
beforeAll(() => {
  zstd = ensureDebianPackage(listedDependency("zstd")) ?? "/usr/bin/zstd"
})

/** n records in the documented layout, compressible (ids repeat), with ids above 2^32 */
const records = (n: number): Buffer => {
  const b = Buffer.alloc(n * 24)
  for (let i = 0; i < n; i++) {
    const id = (i * 7919) % 20_011
    b.writeUInt32LE(i >> 6, i * 24)
    b.writeUInt32LE(id, i * 24 + 4)
    b.writeUInt32LE(id % 7, i * 24 + 8)
    b.writeUInt32LE(1000 + (id % 5000), i * 24 + 12)
    b.writeBigInt64LE(-1n, i * 24 + 16)
  }
  return b
}
const plain = records(150_003)
const plainPath = join(dir, "p.oracleGeneral")
writeFileSync(plainPath, plain)

/** every decompressed byte of a .zst file through one decoder */
const decompressed = async (path: string, decoder?: ZstdDecoderName): Promise<Buffer> => {
  const fh = await open(path, "r")
  try {
    const parts: Buffer[] = []
    const read = async (b: Uint8Array) => (await fh.read(b, 0, b.length, null)).bytesRead
    for await (const p of zstdStream(read, path, decoder === undefined ? {} : { decoder })) parts.push(Buffer.from(p))
    return Buffer.concat(parts)
  } finally {
    await fh.close()
  }
}
const requests = async (t: Trace) => {
  const m = await materialize(t)
  return Array.from(m.timeMs, (ms, i) => `${ms} ${t.models.ids[m.model[i]!]} ${t.models.sizes[m.model[i]!]}`)
}
const viaZstd = (args: string[], input: Buffer): Buffer => execFileSync(zstd, ["-q", "-c", ...args], { input, maxBuffer: 1 << 28 })
const write = (name: string, bytes: Buffer): string => {
  const path = join(dir, name)
  writeFileSync(path, bytes)
  return path
}
/** log2 of a frame's window (RFC 8878 3.1.1.1.2), from its header at `at` */
const windowLog = (b: Buffer, at = 0): number => {
  expect(b.readUInt32LE(at)).toBe(0xfd2fb528)
  expect(b[at + 4]! & 0x20).toBe(0) // no single-segment flag: a window descriptor follows
  return 10 + (b[at + 5]! >> 3)
}

// Frames by hand (RFC 8878): magic, a header with only a window descriptor (no content size:
// the decoder must honour the window as declared), raw blocks of at most min(window, 128 KiB).
const rawFrame = (data: Buffer, log: number): Buffer => {
  const max = Math.min(2 ** log, 128 * 1024)
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (log - 10) << 3])]
  for (let at = 0; at < data.length || at === 0; at += max) {
    const block = data.subarray(at, at + max)
    const last = at + max >= data.length ? 1 : 0
    const h = (block.length << 3) | last // block type 0: raw
    parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), block)
    if (last) break
  }
  return Buffer.concat(parts)
}
const skippableFrame = (payload: Buffer): Buffer => {
  const h = Buffer.alloc(8)
  h.writeUInt32LE(0x184d2a53, 0)
  h.writeUInt32LE(payload.length, 4)
  return Buffer.concat([h, payload])
}

describe("oracleGeneral .zst: the WASM zstd decoder", () => {
  it("is the decoder in use on this host (fzstd is only the fallback)", async () => {
    expect(await zstdDecoderInUse()).toEqual({ name: "zstddec-wasm" })
  })

  it("reads a file zstd made with a 128 MiB window (--long=27, streamed: no content size) exactly like the plain file", async () => {
    const z = viaZstd(["--long=27"], plain)
    expect(windowLog(z)).toBe(27)
    const path = write("long.oracleGeneral.zst", z)
    expect((await decompressed(path)).equals(plain)).toBe(true)
    expect(await requests(oracleGeneralTrace({ path }))).toEqual(await requests(oracleGeneralTrace({ path: plainPath })))
  })

  it("reads several concatenated frames, split inside records, and meshkit's own multi-frame writer's output", async () => {
    const cuts = [0, 1_000_001, 2_000_017, plain.length] // not multiples of 24
    const z = Buffer.concat(cuts.slice(1).map((end, i) => viaZstd(["-1"], plain.subarray(cuts[i]!, end))))
    const path = write("frames.oracleGeneral.zst", z)
    expect((await decompressed(path)).equals(plain)).toBe(true)
    expect(await requests(oracleGeneralTrace({ path }))).toEqual(await requests(oracleGeneralTrace({ path: plainPath })))
    // meshkit trace convert: one frame per 65,536 records, so 3 here
    const own = join(dir, "own.oracleGeneral.zst")
    await writeOracleGeneral(oracleGeneralTrace({ path: plainPath }), own, { zstd: true })
    expect(await requests(oracleGeneralTrace({ path: own }))).toEqual(await requests(oracleGeneralTrace({ path: plainPath })))
  })

  it("reads hand-written frames from the specification: raw blocks, a 128 MiB and a 1 KiB window, a skippable frame between", async () => {
    const cut = 300_010
    const z = Buffer.concat([rawFrame(plain.subarray(0, cut), 27), skippableFrame(Buffer.from("not records")), rawFrame(plain.subarray(cut), 10)])
    const path = write("spec.oracleGeneral.zst", z)
    expect((await decompressed(path)).equals(plain)).toBe(true)
  })

  it("gives the same bytes as the pure-JS fallback (fzstd)", async () => {
    const path = write("both.zst", viaZstd(["-3"], plain))
    const [wasm, js] = [await decompressed(path, "zstddec-wasm"), await decompressed(path, "fzstd")]
    expect(wasm.equals(plain)).toBe(true)
    expect(js.equals(wasm)).toBe(true)
  })

  it("decodes two files at once in one thread (one shared WASM instance, a context each)", async () => {
    const a = write("a.zst", viaZstd(["-1"], plain))
    const other = records(70_001)
    const b = write("b.zst", viaZstd(["--long=27"], other))
    const [da, db] = await Promise.all([decompressed(a), decompressed(b)])
    expect(da.equals(plain)).toBe(true)
    expect(db.equals(other)).toBe(true)
  })

  it("stops early without reading on, and reads the whole file again afterwards", async () => {
    const path = write("early.oracleGeneral.zst", viaZstd(["-1"], plain))
    for (let i = 0; i < 5; i++) expect((await requests(oracleGeneralTrace({ path, requests: 10 + i }))).length).toBe(10 + i)
    expect((await requests(oracleGeneralTrace({ path }))).length).toBe(150_003)
  })

  it("says a .zst is truncated, or corrupt, naming the file, promptly", async () => {
    const z = viaZstd(["-3"], plain)
    const truncated = write("cut.oracleGeneral.zst", z.subarray(0, Math.floor(z.length / 2)))
    const t = await failure(oracleGeneralTrace({ path: truncated }))
    expect(t.message).toMatch(/cut\.oracleGeneral\.zst: not a valid zstd stream \(it ends inside a frame: truncated\?\)/)
    // garbage in the middle of the compressed blocks: zstd's checks (block types, sizes, the
    // frame's checksum) catch it, and the reader stops with an error rather than looping
    const bad = Buffer.from(z)
    for (let i = 0; i < 512; i++) bad[Math.floor(z.length / 3) + i] = (i * 37) & 0xff
    const started = performance.now()
    const c = await failure(oracleGeneralTrace({ path: write("bad.oracleGeneral.zst", bad) }))
    expect(c.message).toMatch(/bad\.oracleGeneral\.zst: not a valid zstd stream \(/)
    expect(performance.now() - started).toBeLessThan(4000)
    // a stream that is not zstd at all
    const nz = await failure(oracleGeneralTrace({ path: write("plain-named.oracleGeneral.zst", plain.subarray(0, 48_000)) }))
    expect(nz.message).toMatch(/plain-named\.oracleGeneral\.zst: not a valid zstd stream/)
  })
})
