import { open, type FileHandle } from "node:fs/promises"
import { Schema } from "effect"
import { CHUNK_SIZE } from "./chunk-builder.js"
import { decodeOptions, RecordedNextAccessError, TraceError } from "./errors.js"
import type { ChunkOptions, ModelTable, Trace, TraceChunk } from "./types.js"
import { Uint64Index } from "./uint64-index.js"
import { zstdStream } from "./zstd-stream.js"

/**
 * libCacheSim's `oracleGeneral` binary trace: little-endian 24-byte records
 *   uint32 timestamp (s) | uint64 object id | uint32 object size (bytes) | int64 next access (vtime, -1 = never)
 * plain or zstd-compressed (`.zst`), streamed: memory is bounded by the number of distinct
 * objects, whatever the trace's length. The public block, KV and CDN traces published in this
 * format replay as they are: each object is a "model" of its size (first size seen wins, as for
 * every other trace source), all in one tenant.
 *
 * The next-access field (1-based position of the object's next request, as libCacheSim's
 * traceConv writes it; -1 or INT64_MAX for never) is handed to the offline bounds when they ask
 * (`chunks({ nextAccess: true })`), so belady replays the file streamed instead of materialising
 * it. Positions count every record, dropped ones too, so they stay the file's own.
 *
 * As libCacheSim's `cachesim` does by default, a record of size 0 is dropped (its readers'
 * `ignore_size_zero_req`), so miss ratios compare request for request; `zeroSize: one-byte`
 * replays it as a one-byte object instead. One difference stays: libCacheSim inserts an object at
 * the size of the request that missed, meshkit at the object's first size (traces whose objects
 * change size can differ; the published ones rarely do).
 *
 * Speed: records are decoded through a Uint32Array over one aligned, reused block (not a
 * DataView call per field), and object ids are interned by a typed-array hash (uint64-index.ts),
 * so a request costs no allocation. `.zst` files go through zstd's own decoder compiled to
 * WebAssembly (./zstd-stream.ts), streamed.
 */

export const ORACLE_RECORD_BYTES = 24

export const OracleGeneralOptions = Schema.Struct({
  path: Schema.String.annotations({ description: "the trace file (.oracleGeneral, or .oracleGeneral.zst / .zst for zstd)" }),
  compression: Schema.optionalWith(Schema.Literal("auto", "none", "zstd"), { default: () => "auto" as const }).annotations({
    description: "auto: zstd when the name ends in .zst"
  }),
  tenant: Schema.optionalWith(Schema.String, { default: () => "default" }).annotations({ description: "tenant of every object" }),
  requests: Schema.optional(Schema.Int.pipe(Schema.positive())).annotations({ description: "stop after this many requests" }),
  zeroSize: Schema.optionalWith(Schema.Literal("skip", "one-byte"), { default: () => "skip" as const }).annotations({
    description: "records of size 0: skip them (libCacheSim's default) or replay them as one-byte objects"
  })
})
export type OracleGeneralOptions = typeof OracleGeneralOptions.Type

/** True when `path` names an oracleGeneral trace by its extension. */
export const isOracleGeneralPath = (path: string): boolean => /\.oraclegeneral(\.zst)?$/i.test(path) || /\.oraclegeneral\.bin(\.zst)?$/i.test(path)

const isZstd = (o: OracleGeneralOptions): boolean => o.compression === "zstd" || (o.compression === "auto" && /\.zst$/i.test(o.path))

/** Records per block: the reader decodes whole, 4-byte-aligned blocks through a Uint32Array. */
const BLOCK_RECORDS = 65_536
const BLOCK_BYTES = BLOCK_RECORDS * ORACLE_RECORD_BYTES
const WORDS_PER_RECORD = ORACLE_RECORD_BYTES / 4

/**
 * Uint32Array reads use the host's byte order; the format is little-endian, as is every host
 * Node runs on in practice. On a big-endian host the reader says so rather than misread.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** A file error reported by the trace's name. */
const readError = (path: string, e: unknown): TraceError => {
  const code = (e as NodeJS.ErrnoException).code
  return new TraceError({ message: code === "ENOENT" ? `${path}: no such file` : `${path}: cannot read the trace (${e instanceof Error ? e.message : String(e)})`, file: path })
}

/**
 * The file's records in blocks of whole records: one reused, aligned buffer (the consumer
 * decodes a block before asking for the next), decompressed on the fly for zstd. `tail` is the
 * number of bytes after the last whole record when the file ends (0 for a well-formed file).
 */
async function* blocksOf(path: string, zstd: boolean, out: { tail: number }): AsyncGenerator<Uint8Array> {
  const block = new Uint8Array(BLOCK_BYTES)
  let filled = 0
  let fh: FileHandle
  try {
    fh = await open(path, "r")
  } catch (e) {
    throw readError(path, e)
  }
  try {
    if (!zstd) {
      for (;;) {
        let got: number
        try {
          got = (await fh.read(block, filled, BLOCK_BYTES - filled, null)).bytesRead
        } catch (e) {
          throw readError(path, e)
        }
        filled += got
        if (got === 0 || filled === BLOCK_BYTES) {
          const whole = filled - (filled % ORACLE_RECORD_BYTES)
          if (whole > 0) yield block.subarray(0, whole)
          if (got === 0) {
            out.tail = filled - whole
            return
          }
          filled = 0
        }
      }
    }
    // zstd: the decompressed pieces are copied into the block (the decoder reuses its buffers)
    const read = async (buf: Uint8Array): Promise<number> => {
      try {
        return (await fh.read(buf, 0, buf.length, null)).bytesRead
      } catch (e) {
        throw readError(path, e)
      }
    }
    for await (const p of zstdStream(read, path)) {
      let at = 0
      while (at < p.length) {
        const n = Math.min(p.length - at, BLOCK_BYTES - filled)
        block.set(p.subarray(at, at + n), filled)
        filled += n
        at += n
        if (filled === BLOCK_BYTES) {
          yield block
          filled = 0
        }
      }
    }
    const whole = filled - (filled % ORACLE_RECORD_BYTES)
    if (whole > 0) yield block.subarray(0, whole)
    out.tail = filled - whole
  } finally {
    await fh.close()
  }
}

const TWO_32 = 4294967296
/** ids below 2^53 are exact as numbers; larger ones (rare) are written through BigInt */
const EXACT_HI = 1 << 21

const grown = (a: Float64Array, index: number): Float64Array<ArrayBuffer> => {
  let cap = a.length * 2
  while (cap <= index) cap *= 2
  const b = new Float64Array(cap)
  b.set(a)
  return b
}

const said = (next: number): string => (next === Infinity ? "never again" : `next at position ${next}`)
const unusableNext = (path: string, position: number, why: string): RecordedNextAccessError =>
  new RecordedNextAccessError({
    message: `${path}: the next-access field does not match the requests at record ${position} (${why}; positions are 1-based, as libCacheSim's traceConv writes them)`
  })

/** The int64 next-access field from its two little-endian words: negative (-1) or ≥ 2^53 (INT64_MAX) is never. */
const nextAccessOf = (lo: number, hi: number): number => (hi >= EXACT_HI ? Infinity : hi * TWO_32 + lo)

export const oracleGeneralTrace = (input: typeof OracleGeneralOptions.Encoded): Trace => {
  const o = decodeOptions("oracleGeneral trace options", OracleGeneralOptions, input)
  const table: ModelTable = { ids: [], tenants: [], sizes: [] }
  const index = new Uint64Index()
  const zstd = isZstd(o)
  const limit = o.requests ?? Infinity
  const skipZero = o.zeroSize === "skip"
  const tenant = o.tenant

  async function* chunks(options?: ChunkOptions): AsyncGenerator<TraceChunk> {
    if (!LITTLE_ENDIAN) throw new TraceError({ message: `${o.path}: oracleGeneral reading needs a little-endian host`, file: o.path })
    const withNext = options?.nextAccess === true
    let timeMs = new Float64Array(CHUNK_SIZE)
    let model = new Int32Array(CHUNK_SIZE)
    let vtime = withNext ? new Float64Array(CHUNK_SIZE) : undefined
    let nextVtime = withNext ? new Float64Array(CHUNK_SIZE) : undefined
    let position = 0
    // where each object's last record said it comes next: checked when it does (see below)
    let expected: Float64Array<ArrayBuffer> = new Float64Array(withNext ? 1024 : 0)
    // the format has no execution times: every chunk shares one all-NaN column (nobody writes it)
    const execMs = new Float64Array(CHUNK_SIZE).fill(NaN)
    let n = 0
    let total = 0
    let t0 = -1
    let lastMs = 0
    const take = (): TraceChunk => {
      const full = n === CHUNK_SIZE
      const c: TraceChunk = full ? { length: n, timeMs, model, execMs } : { length: n, timeMs: timeMs.slice(0, n), model: model.slice(0, n), execMs: execMs.subarray(0, n) }
      const chunk: TraceChunk = vtime && nextVtime ? { ...c, vtime: full ? vtime : vtime.slice(0, n), nextVtime: full ? nextVtime : nextVtime.slice(0, n) } : c
      if (full) {
        // fresh arrays: consumers may keep the chunks they receive
        timeMs = new Float64Array(CHUNK_SIZE)
        model = new Int32Array(CHUNK_SIZE)
        if (withNext) {
          vtime = new Float64Array(CHUNK_SIZE)
          nextVtime = new Float64Array(CHUNK_SIZE)
        }
      }
      n = 0
      return chunk
    }
    const out = { tail: 0 }
    const ids = table.ids
    reading: for await (const bytes of blocksOf(o.path, zstd, out)) {
      const w = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2)
      const words = w.length
      for (let p = 0; p < words; p += WORDS_PER_RECORD) {
        position++
        let size = w[p + 3]!
        if (size === 0) {
          // libCacheSim's readers drop zero-size requests (ignore_size_zero_req); or one byte
          if (skipZero) continue
          size = 1
        }
        const ts = w[p]!
        const lo = w[p + 1]!
        const hi = w[p + 2]!
        if (t0 < 0) t0 = ts
        // Timestamps are whole seconds; a record earlier than its predecessor (clock skew in some
        // published traces) is replayed at the predecessor's time: the engine needs time order.
        const ms = (ts - t0) * 1000
        if (ms > lastMs) lastMs = ms
        const known = index.size
        const m = index.intern(lo, hi)
        if (m === known) {
          // a new object: the first size seen wins, as for every other trace source
          ids.push(hi < EXACT_HI ? String(hi * TWO_32 + lo) : ((BigInt(hi) << 32n) | BigInt(lo)).toString())
          table.tenants.push(tenant)
          table.sizes.push(size)
        }
        timeMs[n] = lastMs
        model[n] = m
        if (nextVtime !== undefined) {
          const next = nextAccessOf(w[p + 4]!, w[p + 5]!)
          if (m >= expected.length) expected = grown(expected, m)
          // A field that is not the object's true next position (unset, 0-based, written by a
          // tool that sampled or filtered records) would make the offline bounds wrong: refuse it.
          if (m !== known && expected[m] !== position) throw unusableNext(o.path, position, `its previous record said ${said(expected[m]!)}`)
          if (next <= position) throw unusableNext(o.path, position, `it says ${said(next)}`)
          expected[m] = next
          vtime![n] = position
          nextVtime[n] = next
        }
        n++
        total++
        if (n === CHUNK_SIZE) yield take()
        if (total >= limit) break reading
      }
    }
    if (out.tail > 0 && total < limit) {
      throw new TraceError({
        message: `${o.path}: the file ends inside a record (${out.tail} bytes after request ${total}): not an oracleGeneral trace (24-byte records), or truncated`,
        file: o.path
      })
    }
    if (n > 0) yield take()
  }

  // `requests` cuts the trace short: next accesses past the cut would be wrong, so none is offered
  return { name: `oracleGeneral ${o.path}`, models: table, chunks, recordsNextAccess: o.requests === undefined }
}
