/**
 * JSON.parse that keeps integers beyond 2^53 exact, as BigInt. JSON.parse rounds them (and
 * Node 20 has no reviver source access), which would corrupt INT64 / UINT64 tensors. Only used
 * when a request mentions a 64-bit integer datatype; everything else goes through JSON.parse.
 * Throws SyntaxError with the position, like JSON.parse.
 *
 * Two differences a hostile request must not exploit: nesting is capped at `maxDepth` (the
 * parser recurses, and a stack overflow would be a 500), and a "__proto__" key becomes an own
 * property as JSON.parse makes it (assigning it would set the object's prototype, so fields
 * could be smuggled in where JSON.parse sees none).
 */
export const MAX_JSON_DEPTH = 256

export const parseJsonBigInt = (text: string, maxDepth = MAX_JSON_DEPTH): unknown => {
  let i = 0
  let depth = 0
  const n = text.length

  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at position ${i}`)
  }
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c === 32 || c === 9 || c === 10 || c === 13) i++
      else break
    }
  }

  const value = (): unknown => {
    ws()
    const c = text[i]
    if (c === "{" || c === "[") {
      if (++depth > maxDepth) fail(`JSON nested deeper than ${maxDepth} levels`)
      const v = c === "{" ? object() : array()
      depth--
      return v
    }
    if (c === '"') return string()
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return number()
    if (text.startsWith("true", i)) return (i += 4), true
    if (text.startsWith("false", i)) return (i += 5), false
    if (text.startsWith("null", i)) return (i += 4), null
    return fail(c === undefined ? "Unexpected end of JSON input" : `Unexpected token ${c}`)
  }

  const object = (): Record<string, unknown> => {
    const out: Record<string, unknown> = {}
    i++
    ws()
    if (text[i] === "}") return i++, out
    for (;;) {
      ws()
      if (text[i] !== '"') fail("Expected property name")
      const key = string()
      ws()
      if (text[i] !== ":") fail("Expected ':'")
      i++
      const v = value()
      if (key === "__proto__") Object.defineProperty(out, key, { value: v, writable: true, enumerable: true, configurable: true })
      else out[key] = v
      ws()
      if (text[i] === ",") {
        i++
        continue
      }
      if (text[i] === "}") return i++, out
      fail("Expected ',' or '}'")
    }
  }

  const array = (): unknown[] => {
    const out: unknown[] = []
    i++
    ws()
    if (text[i] === "]") return i++, out
    for (;;) {
      out.push(value())
      ws()
      if (text[i] === ",") {
        i++
        continue
      }
      if (text[i] === "]") return i++, out
      fail("Expected ',' or ']'")
    }
  }

  const string = (): string => {
    const start = i
    i++
    let escaped = false
    while (i < n) {
      const c = text.charCodeAt(i)
      if (c === 92) {
        escaped = true
        i += 2
        continue
      }
      if (c === 34) break
      i++
    }
    if (i >= n) fail("Unterminated string")
    i++
    const raw = text.slice(start, i)
    // Escapes are rare in tensor requests: let JSON.parse decode them exactly.
    return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1)
  }

  const number = (): number | bigint => {
    const start = i
    if (text[i] === "-") i++
    let integer = true
    while (i < n) {
      const c = text[i]!
      if (c >= "0" && c <= "9") i++
      else if (c === "." || c === "e" || c === "E" || c === "+" || (c === "-" && i > start)) {
        integer = false
        i++
      } else break
    }
    const lit = text.slice(start, i)
    const v = Number(lit)
    if (lit === "-" || Number.isNaN(v)) fail(`Invalid number ${lit}`)
    return integer && !Number.isSafeInteger(v) ? BigInt(lit) : v
  }

  const out = value()
  ws()
  if (i < n) fail(`Unexpected non-whitespace character after JSON`)
  return out
}

/**
 * Whether `text` nests arrays/objects deeper than `max` (a linear scan, strings skipped). For
 * bodies decoded by code that recurses (Schema validation, error formatting): JSON.parse itself
 * copes with any depth, what comes after it does not.
 */
export const jsonDeeperThan = (text: string, max: number): boolean => {
  let depth = 0
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 34) {
      // skip the string, escapes included
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i)
        if (d === 92) i++
        else if (d === 34) break
      }
    } else if (c === 91 || c === 123) {
      if (++depth > max) return true
    } else if (c === 93 || c === 125) depth--
  }
  return false
}
