import { createReadStream } from "node:fs"
import { Schema } from "effect"
import { Decompress } from "fzstd"
import { CHUNK_SIZE } from "./chunk-builder.js"
import { decodeOptions, TraceError } from "./errors.js"
import type { ModelTable, Trace, TraceChunk } from "./types.js"

/**
 * libCacheSim's `oracleGeneral` binary trace: little-endian 24-byte records
 *   uint32 timestamp (s) | uint64 object id | uint32 object size (bytes) | int64 next access (vtime, -1 = never)
 * plain or zstd-compressed (`.zst`), streamed: memory is bounded by the number of distinct
 * objects, whatever the trace's length. The public block, KV and CDN traces published in this
 * format replay as they are: each object is a "model" of its size (first size seen wins, as for
 * every other trace source), all in one tenant.
 *
 * The next-access field is not used: the offline bounds compute next uses from the replayed
 * requests themselves, as for every other source.
 */

export const ORACLE_RECORD_BYTES = 24

export const OracleGeneralOptions = Schema.Struct({
  path: Schema.String.annotations({ description: "the trace file (.oracleGeneral, or .oracleGeneral.zst / .zst for zstd)" }),
  compression: Schema.optionalWith(Schema.Literal("auto", "none", "zstd"), { default: () => "auto" as const }).annotations({
    description: "auto: zstd when the name ends in .zst"
  }),
  tenant: Schema.optionalWith(Schema.String, { default: () => "default" }).annotations({ description: "tenant of every object" }),
  requests: Schema.optional(Schema.Int.pipe(Schema.positive())).annotations({ description: "stop after this many requests" })
})
export type OracleGeneralOptions = typeof OracleGeneralOptions.Type

/** True when `path` names an oracleGeneral trace by its extension. */
export const isOracleGeneralPath = (path: string): boolean => /\.oraclegeneral(\.zst)?$/i.test(path) || /\.oraclegeneral\.bin(\.zst)?$/i.test(path)

const isZstd = (o: OracleGeneralOptions): boolean => o.compression === "zstd" || (o.compression === "auto" && /\.zst$/i.test(o.path))

/** The file's bytes in pieces, decompressed on the fly for zstd. */
async function* bytesOf(path: string, zstd: boolean): AsyncGenerator<Uint8Array> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 })
  const pieces = readable(stream, path)
  if (!zstd) {
    yield* pieces
    return
  }
  const out: Uint8Array[] = []
  const d = new Decompress((chunk) => {
    out.push(chunk)
  })
  const push = (b: Uint8Array, final: boolean) => {
    try {
      d.push(b, final)
    } catch (e) {
      throw new TraceError({ message: `${path}: not a valid zstd stream (${e instanceof Error ? e.message : String(e)})`, file: path })
    }
  }
  for await (const b of pieces) {
    push(b, false)
    while (out.length > 0) yield out.shift()!
  }
  push(new Uint8Array(0), true)
  while (out.length > 0) yield out.shift()!
}

/** A read stream's pieces, with a file that cannot be read reported by its name. */
async function* readable(stream: AsyncIterable<unknown>, path: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const b of stream) yield b as Buffer
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new TraceError({ message: code === "ENOENT" ? `${path}: no such file` : `${path}: cannot read the trace (${e instanceof Error ? e.message : String(e)})`, file: path })
  }
}

const TWO_32 = 4294967296
/** ids below 2^53 are exact as numbers; larger ones (rare) fall back to a string key */
const EXACT_HI = 1 << 21

export const oracleGeneralTrace = (input: typeof OracleGeneralOptions.Encoded): Trace => {
  const o = decodeOptions("oracleGeneral trace options", OracleGeneralOptions, input)
  const table: ModelTable = { ids: [], tenants: [], sizes: [] }
  const byNumber = new Map<number, number>()
  const byText = new Map<string, number>()
  const zstd = isZstd(o)
  const limit = o.requests ?? Infinity

  const intern = (lo: number, hi: number, size: number): number => {
    if (hi < EXACT_HI) {
      const key = hi * TWO_32 + lo
      const known = byNumber.get(key)
      if (known !== undefined) return known
      const i = table.ids.length
      byNumber.set(key, i)
      table.ids.push(String(key))
      table.tenants.push(o.tenant)
      table.sizes.push(size)
      return i
    }
    const text = ((BigInt(hi) << 32n) | BigInt(lo)).toString()
    const known = byText.get(text)
    if (known !== undefined) return known
    const i = table.ids.length
    byText.set(text, i)
    table.ids.push(text)
    table.tenants.push(o.tenant)
    table.sizes.push(size)
    return i
  }

  async function* chunks(): AsyncGenerator<TraceChunk> {
    let timeMs = new Float64Array(CHUNK_SIZE)
    let model = new Int32Array(CHUNK_SIZE)
    let execMs = new Float64Array(CHUNK_SIZE).fill(NaN)
    let n = 0
    let total = 0
    let t0 = -1
    let lastMs = 0
    const carry = new Uint8Array(ORACLE_RECORD_BYTES)
    let carried = 0
    const record = (view: DataView, at: number): void => {
      const ts = view.getUint32(at, true)
      const lo = view.getUint32(at + 4, true)
      const hi = view.getUint32(at + 8, true)
      // a zero-byte object still occupies a slot: count it as one byte
      const size = view.getUint32(at + 12, true) || 1
      if (t0 < 0) t0 = ts
      // Timestamps are whole seconds; a record earlier than its predecessor (clock skew in some
      // published traces) is replayed at the predecessor's time: the engine needs time order.
      const ms = (ts - t0) * 1000
      if (ms > lastMs) lastMs = ms
      timeMs[n] = lastMs
      model[n] = intern(lo, hi, size)
      n++
      total++
    }
    const take = (): TraceChunk => {
      const c: TraceChunk =
        n === CHUNK_SIZE ? { length: n, timeMs, model, execMs } : { length: n, timeMs: timeMs.slice(0, n), model: model.slice(0, n), execMs: execMs.slice(0, n) }
      if (n === CHUNK_SIZE) {
        // fresh arrays: consumers may keep the chunks they receive
        timeMs = new Float64Array(CHUNK_SIZE)
        model = new Int32Array(CHUNK_SIZE)
        execMs = new Float64Array(CHUNK_SIZE).fill(NaN)
      }
      n = 0
      return c
    }
    const carryView = new DataView(carry.buffer)
    for await (const bytes of bytesOf(o.path, zstd)) {
      let at = 0
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      if (carried > 0) {
        const need = ORACLE_RECORD_BYTES - carried
        const got = Math.min(need, bytes.byteLength)
        carry.set(bytes.subarray(0, got), carried)
        carried += got
        at = got
        if (carried < ORACLE_RECORD_BYTES) continue
        record(carryView, 0)
        carried = 0
        if (n === CHUNK_SIZE) yield take()
        if (total >= limit) break
      }
      const end = bytes.byteLength - ((bytes.byteLength - at) % ORACLE_RECORD_BYTES)
      for (; at < end; at += ORACLE_RECORD_BYTES) {
        record(view, at)
        if (n === CHUNK_SIZE) yield take()
        if (total >= limit) break
      }
      if (total >= limit) break
      if (at < bytes.byteLength) {
        carry.set(bytes.subarray(at), 0)
        carried = bytes.byteLength - at
      }
    }
    if (carried > 0 && total < limit) {
      throw new TraceError({
        message: `${o.path}: the file ends inside a record (${carried} bytes after request ${total}): not an oracleGeneral trace (24-byte records), or truncated`,
        file: o.path
      })
    }
    if (n > 0) yield take()
  }

  return { name: `oracleGeneral ${o.path}`, models: table, chunks }
}
