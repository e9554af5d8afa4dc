import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { EventQueue } from "@meshkit/sim"

const drain = (q: EventQueue): Array<[number, number, number]> => {
  const out: Array<[number, number, number]> = []
  while (q.pop()) out.push([q.poppedTime, q.poppedKind, q.poppedArg])
  return out
}

describe("event queue", () => {
  it("pops in time order, and events at the same time in the order they were pushed", () => {
    const q = new EventQueue(2)
    q.push(5, 1, 50)
    q.push(1, 2, 10)
    q.push(5, 3, 51)
    q.push(0, 4, 0)
    q.push(5, 1, 52)
    expect(drain(q)).toEqual([
      [0, 4, 0],
      [1, 2, 10],
      [5, 1, 50],
      [5, 3, 51],
      [5, 1, 52]
    ])
    expect(q.peekTime()).toBe(Infinity)
  })

  it("matches a stable sort for any interleaving of pushes and pops (and grows as needed)", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(-1)), { maxLength: 400 }), (ops) => {
        const q = new EventQueue(1)
        const model: Array<{ t: number; seq: number }> = []
        let seq = 0
        for (const op of ops) {
          if (op >= 0) {
            q.push(op, 1, seq)
            model.push({ t: op, seq: seq++ })
          } else if (model.length > 0) {
            model.sort((a, b) => a.t - b.t || a.seq - b.seq)
            const want = model.shift()!
            expect(q.pop()).toBe(true)
            expect([q.poppedTime, q.poppedArg]).toEqual([want.t, want.seq])
          } else expect(q.pop()).toBe(false)
        }
        expect(q.size).toBe(model.length)
      })
    )
  })

  it("gives back every kind (a byte) and argument (an int32) as pushed, whatever the heap moved", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })), { maxLength: 200 }),
        (events) => {
          const q = new EventQueue(2)
          for (const [t, kind, arg] of events) q.push(t, kind, arg)
          const want = events.map((e, i) => ({ e, i })).sort((a, b) => a.e[0] - b.e[0] || a.i - b.i).map(({ e }) => e)
          expect(drain(q)).toEqual(want)
        }
      )
    )
  })

  it("refuses a NaN time", () => {
    expect(() => new EventQueue().push(NaN, 1, 0)).toThrow(/NaN/)
  })
})
