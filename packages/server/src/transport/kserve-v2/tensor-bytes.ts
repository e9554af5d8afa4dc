import { bytesPerElement, type Datatype, type TensorData } from "../../tensor.js"

/**
 * Raw tensor bytes as KServe's binary extension and gRPC raw contents carry them: little-endian
 * fixed-size elements, BYTES as a 4-byte little-endian length before each element. This host is
 * little-endian (x64 / arm64), so typed arrays are viewed and copied as is.
 */

/** A zero-filled array of `n` elements for a datatype. */
export const allocate = (dt: Datatype, n: number): TensorData => {
  switch (dt) {
    case "BOOL":
    case "UINT8":
      return new Uint8Array(n)
    case "INT8":
      return new Int8Array(n)
    case "UINT16":
    case "FP16":
      return new Uint16Array(n)
    case "INT16":
      return new Int16Array(n)
    case "UINT32":
      return new Uint32Array(n)
    case "INT32":
      return new Int32Array(n)
    case "UINT64":
      return new BigUint64Array(n)
    case "INT64":
      return new BigInt64Array(n)
    case "FP32":
      return new Float32Array(n)
    case "FP64":
      return new Float64Array(n)
    case "BYTES":
      return new Array<string>(n).fill("")
  }
}

/**
 * Copy `bytes` into a fresh, aligned typed array of the datatype (the source may sit at any
 * offset inside a larger Buffer, and the decoded tensor must own its memory).
 * The caller has checked that bytes.length is a multiple of the element size.
 */
export const fixedFromBytes = (dt: Exclude<Datatype, "BYTES">, bytes: Uint8Array): Exclude<TensorData, string[]> => {
  const out = allocate(dt, bytes.byteLength / bytesPerElement(dt)!) as Exclude<TensorData, string[]>
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes)
  return out
}

/** Parse length-prefixed BYTES elements; returns an error message instead of throwing. */
export const bytesElementsFrom = (bytes: Uint8Array): string[] | string => {
  const out: string[] = []
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let at = 0
  while (at < bytes.byteLength) {
    if (at + 4 > bytes.byteLength) return `truncated BYTES element length at byte ${at}`
    const len = view.getUint32(at, true)
    at += 4
    if (at + len > bytes.byteLength) return `BYTES element ${out.length} declares ${len} bytes but only ${bytes.byteLength - at} remain`
    out.push(buf.toString("utf8", at, at + len))
    at += len
  }
  return out
}

/** Bytes of a tensor's data: a view (no copy) for typed arrays, serialised for BYTES. */
export const tensorBytes = (data: TensorData): Uint8Array => {
  if (Array.isArray(data)) {
    const parts = data.map((s) => Buffer.from(s, "utf8"))
    const out = Buffer.allocUnsafe(parts.reduce((n, p) => n + 4 + p.length, 0))
    let at = 0
    for (const p of parts) {
      out.writeUInt32LE(p.length, at)
      p.copy(out, at + 4)
      at += 4 + p.length
    }
    return out
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}

// IEEE 754 half precision <-> double. FP16 travels as raw bits; these are for JSON output and tests.
const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

export const halfToNumber = (h: number): number => {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >> 10) & 0x1f
  const frac = h & 0x3ff
  if (exp === 0) return sign * frac * 2 ** -24
  if (exp === 0x1f) return frac ? NaN : sign * Infinity
  return sign * (1 + frac / 1024) * 2 ** (exp - 15)
}

/** Round to nearest even, like hardware conversion. */
export const numberToHalf = (v: number): number => {
  f32[0] = v
  const x = u32[0]!
  const sign = (x >>> 16) & 0x8000
  const exp = (x >>> 23) & 0xff
  let mant = x & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0)
  const e = exp - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign
    mant |= 0x800000
    const shift = 14 - e
    const half = 1 << (shift - 1)
    let r = mant >> shift
    const rest = mant & ((1 << shift) - 1)
    if (rest > half || (rest === half && r & 1)) r++
    return sign | r
  }
  let r = (e << 10) | (mant >> 13)
  const rest = mant & 0x1fff
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) r++
  return sign | r
}
