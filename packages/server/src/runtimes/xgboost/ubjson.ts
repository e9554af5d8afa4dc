/**
 * A Universal Binary JSON (UBJSON, ubjson.org draft 12) decoder, as XGBoost ≥ 1.6 writes `.ubj`
 * model files: big-endian numbers, objects `{ key value ... }` with length-prefixed keys, arrays
 * either marker-terminated, count-prefixed (`[#n`) or strongly typed (`[$d#n`). Strongly typed
 * numeric arrays (XGBoost writes every per-node field so) decode straight into a typed array, so
 * a model's split conditions never pass through an array of boxed numbers.
 */

export type UbjValue =
  | null
  | boolean
  | number
  | string
  | UbjValue[]
  | { [key: string]: UbjValue }
  | Int8Array
  | Uint8Array
  | Int16Array
  | Int32Array
  | Float32Array
  | Float64Array

export class UbjsonError extends Error {}

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * Decode one UBJSON value that fills `bytes`. Throws UbjsonError naming the offset of a fault.
 * Object entries whose key is in `skip` are read past without building their value (they are
 * left out of the result): a model's per-node training statistics cost no copy.
 */
export const decodeUbjson = (bytes: Uint8Array, skip?: ReadonlySet<string>): UbjValue => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let pos = 0
  const fail = (why: string): never => {
    throw new UbjsonError(`UBJSON: ${why} at byte ${pos}`)
  }
  const need = (n: number) => {
    if (pos + n > bytes.length) fail(`truncated (needs ${n} more bytes)`)
  }
  const marker = (): number => {
    need(1)
    let m = bytes[pos++]!
    while (m === 0x4e /* N: no-op */) {
      need(1)
      m = bytes[pos++]!
    }
    return m
  }
  // XGBoost writes every key length and count as int64: read it as two halves, no BigInt
  const int64 = (): number => {
    need(8)
    const hi = view.getInt32(pos)
    const lo = view.getUint32(pos + 4)
    if (hi > 0x1fffff || hi < -0x200000) fail(`int64 does not fit a double exactly`)
    pos += 8
    return hi * 4294967296 + lo
  }
  /** A number whose type marker `m` has been read. */
  const numberOf = (m: number): number => {
    let v: number
    switch (m) {
      case 0x69: // i int8
        need(1), (v = view.getInt8(pos)), (pos += 1)
        return v
      case 0x55: // U uint8
        need(1), (v = view.getUint8(pos)), (pos += 1)
        return v
      case 0x49: // I int16
        need(2), (v = view.getInt16(pos)), (pos += 2)
        return v
      case 0x6c: // l int32
        need(4), (v = view.getInt32(pos)), (pos += 4)
        return v
      case 0x4c: // L int64
        return int64()
      case 0x64: // d float32
        need(4), (v = view.getFloat32(pos)), (pos += 4)
        return v
      case 0x44: // D float64
        need(8), (v = view.getFloat64(pos)), (pos += 8)
        return v
      default:
        return fail(`expected a number, found marker ${markerName(m)}`)
    }
  }
  const length = (): number => {
    const n = numberOf(marker())
    if (!Number.isInteger(n) || n < 0) fail(`invalid length ${n}`)
    return n
  }
  const text = (): string => {
    const n = length()
    need(n)
    const s = utf8.decode(bytes.subarray(pos, pos + n))
    pos += n
    return s
  }
  const valueOf = (m: number): UbjValue => {
    switch (m) {
      case 0x5a: // Z null
        return null
      case 0x54: // T
        return true
      case 0x46: // F
        return false
      case 0x53: // S string
        return text()
      case 0x48: {
        // H high-precision number, as a decimal string
        const s = text()
        const v = Number(s)
        if (Number.isNaN(v)) fail(`high-precision number "${s}" is not a number`)
        return v
      }
      case 0x43: // C char
        need(1)
        return String.fromCharCode(bytes[pos++]!)
      case 0x5b: // [
        return array()
      case 0x7b: // {
        return object()
      default:
        return numberOf(m)
    }
  }
  /** After `[` or `{`: the optional `$type` and `#count` of an optimised container. */
  const header = (): { type: number | undefined; count: number | undefined } => {
    let type: number | undefined
    let count: number | undefined
    if (bytes[pos] === 0x24 /* $ */) {
      pos++
      need(1)
      type = bytes[pos++]!
      if (bytes[pos] !== 0x23 /* # */) fail("a typed container ($) must give its count (#)")
    }
    if (bytes[pos] === 0x23 /* # */) {
      pos++
      count = length()
    }
    return { type, count }
  }
  /** The next `count` elements of `size` bytes, byte-swapped (big- to little-endian) into a fresh buffer. */
  let skipping = 0 // > 0 while inside a skipped entry: typed arrays are passed over, not copied
  const swapped = (size: number, count: number): ArrayBuffer => {
    const n = size * count
    need(n)
    if (skipping > 0) {
      pos += n
      return new ArrayBuffer(0)
    }
    const out = new Uint8Array(n)
    const p = pos
    if (size === 1) out.set(bytes.subarray(p, p + n))
    else for (let i = 0; i < n; i += size) for (let k = 0; k < size; k++) out[i + k] = bytes[p + i + size - 1 - k]!
    pos += n
    return out.buffer
  }
  const typedArray = (type: number, count: number): UbjValue | undefined => {
    switch (type) {
      case 0x69:
        return new Int8Array(swapped(1, count))
      case 0x55:
        return new Uint8Array(swapped(1, count))
      case 0x49:
        return new Int16Array(swapped(2, count))
      case 0x6c:
        return new Int32Array(swapped(4, count))
      case 0x64:
        return new Float32Array(swapped(4, count))
      case 0x44:
        return new Float64Array(swapped(8, count))
      default:
        return undefined
    }
  }
  const array = (): UbjValue => {
    const { type, count } = header()
    if (type !== undefined) {
      const typed = typedArray(type, count!)
      if (typed) return typed
      const out: UbjValue[] = new Array(count!)
      for (let i = 0; i < count!; i++) out[i] = valueOf(type)
      return out
    }
    const out: UbjValue[] = []
    if (count !== undefined) {
      for (let i = 0; i < count; i++) out.push(valueOf(marker()))
      return out
    }
    for (;;) {
      const m = marker()
      if (m === 0x5d /* ] */) return out
      out.push(valueOf(m))
    }
  }
  const object = (): UbjValue => {
    const { type, count } = header()
    const out: { [key: string]: UbjValue } = {}
    const entry = () => {
      const key = text()
      if (skip?.has(key)) {
        skipping++
        valueOf(type ?? marker())
        skipping--
      } else out[key] = valueOf(type ?? marker())
    }
    if (count !== undefined) {
      for (let i = 0; i < count; i++) entry()
      return out
    }
    for (;;) {
      if (pos >= bytes.length) fail("object not closed")
      if (bytes[pos] === 0x7d /* } */) {
        pos++
        return out
      }
      if (bytes[pos] === 0x4e) {
        pos++
        continue
      }
      entry()
    }
  }
  const v = valueOf(marker())
  if (pos !== bytes.length) fail(`${bytes.length - pos} bytes left after the value`)
  return v
}

const markerName = (m: number): string => (m >= 0x20 && m < 0x7f ? `'${String.fromCharCode(m)}'` : `0x${m.toString(16)}`)
