import { open, rm } from "node:fs/promises"
import { TraceError } from "./errors.js"
import { materialize } from "./materialize.js"
import { ORACLE_RECORD_BYTES } from "./oracle-general.js"
import type { Trace } from "./types.js"

/**
 * Writes any trace as libCacheSim's oracleGeneral (see ./oracle-general.ts), zstd-compressed
 * when `zstd` is set (one zstd frame per block of records: concatenated frames are one valid
 * .zst stream). The next-access field needs the future, so the trace is materialised first
 * (20 bytes per request). Lossy where the format is narrower: times become whole seconds, model
 * ids that are not integers become their index in the trace's model table, sizes must fit 32
 * bits; execution times and tenants are not carried.
 */

const BLOCK_RECORDS = 65_536
const UINT64_MAX = (1n << 64n) - 1n

export interface OracleWriteResult {
  readonly requests: number
  readonly models: number
  /** true when some model ids were not unsigned integers and were replaced by their index */
  readonly renumbered: boolean
}

export const writeOracleGeneral = async (trace: Trace, path: string, o: { readonly zstd?: boolean } = {}): Promise<OracleWriteResult> => {
  const m = await materialize(trace)
  const n = m.timeMs.length
  const { ids, sizes } = trace.models
  // object ids: the model's own id when it is an unsigned 64-bit integer, else its index
  let renumbered = false
  const idLo = new Uint32Array(ids.length)
  const idHi = new Uint32Array(ids.length)
  for (let i = 0; i < ids.length; i++) {
    let v: bigint
    if (/^\d{1,20}$/.test(ids[i]!) && BigInt(ids[i]!) <= UINT64_MAX) v = BigInt(ids[i]!)
    else {
      v = BigInt(i)
      renumbered = true
    }
    idLo[i] = Number(v & 0xffffffffn)
    idHi[i] = Number(v >> 32n)
    const size = sizes[i]!
    if (!(size >= 0 && size <= 0xffffffff)) {
      throw new TraceError({ message: `model "${ids[i]}" is ${size} bytes: oracleGeneral sizes are 32-bit (at most 4 GiB − 1); write CSV instead` })
    }
  }
  // next access as libCacheSim's traceConv writes it: the next request's 1-based position
  // ("reference count starts with 1"), -1 when never again; one backward pass
  const next = new Float64Array(n)
  const seen = new Float64Array(ids.length).fill(-1)
  for (let i = n - 1; i >= 0; i--) {
    const k = m.model[i]!
    next[i] = seen[k]!
    seen[k] = i + 1
  }
  const compress = o.zstd ? await zstdCompressor() : undefined
  const file = await open(path, "w")
  try {
    const block = Buffer.alloc(BLOCK_RECORDS * ORACLE_RECORD_BYTES)
    const t0 = n > 0 ? m.timeMs[0]! : 0
    for (let start = 0; start < n; start += BLOCK_RECORDS) {
      const end = Math.min(n, start + BLOCK_RECORDS)
      let at = 0
      for (let i = start; i < end; i++, at += ORACLE_RECORD_BYTES) {
        const k = m.model[i]!
        const s = Math.floor((m.timeMs[i]! - t0) / 1000)
        if (s > 0xffffffff) throw new TraceError({ message: `request ${i} is ${s} s into the trace: oracleGeneral timestamps are 32-bit seconds` })
        block.writeUInt32LE(s, at)
        block.writeUInt32LE(idLo[k]!, at + 4)
        block.writeUInt32LE(idHi[k]!, at + 8)
        block.writeUInt32LE(sizes[k]!, at + 12)
        block.writeBigInt64LE(BigInt(next[i]!), at + 16)
      }
      const bytes = block.subarray(0, at)
      await file.write(compress ? compress(bytes) : bytes)
    }
  } catch (e) {
    await file.close()
    await rm(path, { force: true })
    throw e
  }
  await file.close()
  let models = 0
  for (let k = 0; k < ids.length; k++) if (seen[k]! >= 0) models++
  return { requests: n, models, renumbered }
}

/** zstd compression (WASM, no native build): each call makes one complete frame. */
const zstdCompressor = async (): Promise<(b: Uint8Array) => Uint8Array> => {
  const z = await import("@bokuweb/zstd-wasm")
  await z.init()
  return (b) => z.compress(b, 3)
}
