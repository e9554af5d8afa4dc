import { Decompress } from "fzstd"
import { TraceError } from "./errors.js"

/**
 * Streaming zstd decompression for the trace readers: the compressed file is read in 1 MiB
 * pieces and its decompressed bytes come out in pieces of at most ~128 KiB, so memory stays
 * bounded whatever the file's length (a 20 M-record oracleGeneral trace is 480 MB raw).
 *
 * Decoder: zstd's own C decompressor compiled to WebAssembly (npm `zstddec`, its `stream` entry:
 * ZSTD_decompressStream over the whole stream, any number of frames, any window the format
 * allows). It decompresses ~3.4× as fast as the pure-JS `fzstd` here (`meshkit bench --only
 * replay-speed` measures both side by side). If
 * the WASM cannot be instantiated (WebAssembly disabled, e.g. `--jitless`), the reader falls back
 * to `fzstd`, with the same results.
 *
 * zstddec's streaming API pulls its input from a synchronous iterable; the file is read
 * asynchronously, so the next piece is always read ahead before the decoder is stepped (it
 * pulls at most one piece per step). zstddec does not surface zstd's error codes: on corrupt
 * input its loop makes no progress (no output, no input consumed) and repeats. A valid stream
 * cannot do that for long — every step that yields nothing consumes at least a frame header
 * (≥ 8 bytes) or ends a frame — so more empty steps on one piece than a quarter of its bytes
 * means corrupt data. A stream that ends inside a frame is reported as truncated.
 */

export type ZstdDecoderName = "zstddec-wasm" | "fzstd"

/** Reads into `buf` from the current position; resolves to the bytes read, 0 at the end. */
export type ReadInto = (buf: Uint8Array) => Promise<number>

const INPUT_BYTES = 1 << 20

interface WasmDecoder {
  decodeStreaming(arrays: Iterable<Uint8Array>): Generator<Uint8Array>
}

let wasm: Promise<WasmDecoder | undefined> | undefined
/** Why the WASM decoder could not be loaded (undefined while it loads, or when it did). */
let wasmFailure: string | undefined

const loadWasm = (): Promise<WasmDecoder | undefined> =>
  (wasm ??= (async () => {
    try {
      const { ZSTDDecoder } = await import("zstddec/stream")
      const d = new ZSTDDecoder()
      await d.init()
      return d
    } catch (e) {
      wasmFailure = e instanceof Error ? e.message : String(e)
      return undefined
    }
  })())

/** The decoder the readers use on this host: the WASM one unless it cannot be loaded. */
export const zstdDecoderInUse = async (): Promise<{ readonly name: ZstdDecoderName; readonly fallbackReason?: string }> =>
  (await loadWasm()) ? { name: "zstddec-wasm" } : { name: "fzstd", ...(wasmFailure !== undefined ? { fallbackReason: wasmFailure } : {}) }

const corrupt = (name: string, at: number, length: number, why: string): TraceError =>
  new TraceError({ message: `${name}: not a valid zstd stream (${why}, within compressed bytes ${at}–${at + length})`, file: name })

/**
 * The decompressed bytes of the zstd stream `read` returns. Each piece is valid until the next
 * one is asked for. `decoder` forces one (benchmarks compare them); by default the WASM one.
 */
export async function* zstdStream(read: ReadInto, name: string, o: { readonly decoder?: ZstdDecoderName } = {}): AsyncGenerator<Uint8Array> {
  const d = o.decoder === "fzstd" ? undefined : await loadWasm()
  if (d === undefined) {
    if (o.decoder === "zstddec-wasm") throw new TraceError({ message: `${name}: the WASM zstd decoder cannot be loaded (${wasmFailure ?? "unknown reason"})`, file: name })
    yield* fzstdStream(read, name)
    return
  }
  // one read buffer: the decoder copies a piece into its own memory when it pulls it, and the
  // next read happens only after that pull
  const buf = new Uint8Array(INPUT_BYTES)
  let ready: Uint8Array | undefined
  let eof = false
  let closing = false
  let pulls = 0
  /** compressed bytes pulled before the current piece */
  let offset = 0
  let pulledLength = 0
  const input: Iterable<Uint8Array> = {
    [Symbol.iterator]: () => ({
      next: (): IteratorResult<Uint8Array> => {
        if (ready === undefined || closing) return { done: true, value: undefined }
        const v = ready
        ready = undefined
        pulls++
        offset += pulledLength
        pulledLength = v.length
        return { done: false, value: v }
      }
    })
  }
  const fill = async (): Promise<void> => {
    const got = await read(buf)
    if (got === 0) eof = true
    else ready = buf.subarray(0, got)
  }
  const steps = d.decodeStreaming(input)
  let finished = false
  try {
    let emptySince = -1
    let empties = 0
    for (;;) {
      if (ready === undefined && !eof) await fill()
      let r: IteratorResult<Uint8Array>
      try {
        r = steps.next()
      } catch (e) {
        finished = true
        const msg = e instanceof Error ? e.message : String(e)
        throw /incomplete stream/i.test(msg)
          ? new TraceError({ message: `${name}: not a valid zstd stream (it ends inside a frame: truncated?)`, file: name })
          : corrupt(name, offset, pulledLength, msg)
      }
      if (r.done) {
        finished = true
        return
      }
      const out = r.value
      if (out.length === 0) {
        if (emptySince !== pulls) {
          emptySince = pulls
          empties = 0
        }
        if (++empties > (pulledLength >>> 2) + 16) {
          finished = true // abandoned: its WASM buffers stay allocated (only on corrupt input)
          throw corrupt(name, offset, pulledLength, "the decoder makes no progress: corrupt data or not zstd")
        }
        continue
      }
      emptySince = -1
      yield out
    }
  } finally {
    if (!finished) {
      // the consumer stopped early: let the decoder finish the piece it holds and free its
      // buffers (it reports the stream as incomplete, which is expected here)
      closing = true
      try {
        for (let guard = 0, r = steps.next(); !r.done; r = steps.next()) if (r.value.length === 0 && ++guard > (pulledLength >>> 2) + 16) break
      } catch {
        // "incomplete stream": expected when stopping inside a frame
      }
    }
  }
}

/** The pure-JS fallback. fzstd keeps references to input it has not consumed: every read is fresh. */
async function* fzstdStream(read: ReadInto, name: string): AsyncGenerator<Uint8Array> {
  const pieces: Uint8Array[] = []
  const d = new Decompress((chunk) => {
    pieces.push(chunk)
  })
  for (let done = false; !done; ) {
    const buf = new Uint8Array(INPUT_BYTES)
    const got = await read(buf)
    done = got === 0
    try {
      d.push(buf.subarray(0, got), done)
    } catch (e) {
      throw new TraceError({ message: `${name}: not a valid zstd stream (${e instanceof Error ? e.message : String(e)})`, file: name })
    }
    // fzstd may reuse its window: the consumer copies each piece before asking for the next
    for (const p of pieces) yield p
    pieces.length = 0
  }
}
