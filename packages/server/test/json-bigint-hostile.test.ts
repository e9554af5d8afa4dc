import { describe, expect, it } from "vitest"
import { MAX_JSON_DEPTH, parseJsonBigInt } from "../src/transport/kserve-v2/json-bigint.js"

/** The exact-int64 JSON parser against hostile input: prototype keys and deep nesting. */
describe("parseJsonBigInt on hostile input", () => {
  it("keeps __proto__ an own property, as JSON.parse does, and leaves Object.prototype alone", () => {
    const text = '{"__proto__":{"polluted":1,"inputs":[1]},"a":{"__proto__":{"polluted":2}}}'
    const got = parseJsonBigInt(text) as Record<string, any>
    const ref = JSON.parse(text) as Record<string, any>
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype)
    expect(Object.getPrototypeOf(got.a)).toBe(Object.prototype)
    expect(Object.prototype.hasOwnProperty.call(got, "__proto__")).toBe(true)
    expect(got.inputs).toBeUndefined()
    expect(({} as any).polluted).toBeUndefined()
    expect(Object.keys(got)).toEqual(Object.keys(ref))
    expect(JSON.stringify(got)).toBe(JSON.stringify(ref))
  })

  it("caps nesting with a SyntaxError instead of overflowing the stack", () => {
    const ok = "[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH)
    expect(parseJsonBigInt(ok)).toBeInstanceOf(Array)
    for (const depth of [MAX_JSON_DEPTH + 1, 100_000]) {
      expect(() => parseJsonBigInt("[".repeat(depth) + "]".repeat(depth))).toThrow(SyntaxError)
      expect(() => parseJsonBigInt('{"a":'.repeat(depth) + "1" + "}".repeat(depth))).toThrow(/nested deeper/)
    }
  })

  it("still parses 64-bit integers exactly", () => {
    expect(parseJsonBigInt('{"x":[9223372036854775807,-9223372036854775808,1.5]}')).toEqual({ x: [9223372036854775807n, -9223372036854775808n, 1.5] })
  })
})
