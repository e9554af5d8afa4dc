/**
 * Decimal numbers straight from bytes, without making a string per field (the CSV hot loop).
 *
 * Fast path (Clinger): when all digits fit in an exact integer w ≤ 2^53 and there are at most
 * 22 fraction digits, w / 10^k is one correctly rounded IEEE division of two exact values, i.e.
 * exactly what Number(text) returns. Anything else (exponents, long fractions, spaces, a leading
 * "+") goes through a strict regex and Number(), so every value round-trips bit for bit.
 */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k)
const TWO_53 = 2 ** 53
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/** The number in buf[start, end), or NaN when the field is not a plain decimal number. */
export const parseDecimal = (buf: Uint8Array, start: number, end: number): number => {
  let i = start
  let negative = false
  if (i < end && buf[i] === 45) {
    negative = true
    i++
  }
  let w = 0
  let digits = 0
  let dot = -1
  for (; i < end; i++) {
    const c = buf[i]!
    const d = c - 48
    if (d >= 0 && d <= 9) {
      w = w * 10 + d
      digits++
    } else if (c === 46 && dot < 0) {
      dot = i
    } else {
      return slowDecimal(buf, start, end)
    }
  }
  if (digits === 0) return NaN
  const k = dot < 0 ? 0 : end - dot - 1
  if (w >= TWO_53 || k > 22) return slowDecimal(buf, start, end)
  const v = k === 0 ? w : w / POW10[k]!
  return negative ? -v : v
}

const slowDecimal = (buf: Uint8Array, start: number, end: number): number => {
  const text = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString("latin1").trim()
  return DECIMAL.test(text) ? Number(text) : NaN
}
