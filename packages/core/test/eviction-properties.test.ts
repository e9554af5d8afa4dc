import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { isEvictable, policiesOf, type ModelCache, type Resident } from "@meshkit/core"
import { cacheOf } from "./eviction-harness.js"

const CAPACITY = 100
const MODELS = 12
const MINUTE = 60_000

type Event =
  | { readonly t: "req"; readonly m: number; readonly finish: boolean }
  | { readonly t: "done" | "begin" | "end" | "unload"; readonly m: number }
  | { readonly t: "pin"; readonly m: number; readonly on: boolean }
  | { readonly t: "resize"; readonly m: number; readonly size: number }
  | { readonly t: "expire" }

const model = fc.nat(MODELS - 1)
const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant("req" as const), m: model, finish: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("done" as const), m: model }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constantFrom("begin" as const, "end" as const), m: model }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("pin" as const), m: model, on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("unload" as const), m: model }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("resize" as const), m: model, size: fc.integer({ min: 1, max: 130 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("expire" as const) }) }
)
/** sizes up to 130 against a capacity of 100: some models can never fit */
const scenario = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 130 }), { minLength: MODELS, maxLength: MODELS }),
  events: fc.array(event, { maxLength: 120, size: "max" })
})

const busy = (e: Resident) => !isEvictable(e)
const sortedIds = (rs: Iterable<Resident>) => [...rs].map((e) => e.id).sort()

/** Time of each request's next request for the same model (what the simulator gives belady). */
const nextUses = (events: readonly Event[]): number[] => {
  const next = new Array<number>(events.length).fill(Infinity)
  const seen = new Array<number>(MODELS).fill(Infinity)
  for (let i = events.length - 1; i >= 0; i--) {
    const ev = events[i]!
    if (ev.t !== "req") continue
    next[i] = seen[ev.m]!
    seen[ev.m] = i * MINUTE
  }
  return next
}

/**
 * Replay a scenario through ModelCache, checking the shared rules after every step; returns a
 * log of outcomes (to compare runs) and the cache.
 */
const replay = (policy: string, sizes: readonly number[], events: readonly Event[]): { log: string[]; cache: ModelCache } => {
  const c = cacheOf(policy, CAPACITY)
  const next = nextUses(events)
  const log: string[] = []
  events.forEach((ev, i) => {
    const now = i * MINUTE
    const id = `m${"m" in ev ? ev.m : 0}`
    const e = c.get(id)
    const before = sortedIds(c.residents())
    const busyBefore = new Set([...c.residents()].filter(busy).map((r) => r.id))
    switch (ev.t) {
      case "req": {
        if (e) {
          e.nextUse = next[i]!
          c.hit(e, now)
          log.push("hit")
          break
        }
        const size = sizes[ev.m]!
        const r = c.admit({ id, tenant: "t", size, loadCostMs: 10 + size, nextUse: next[i]! }, now)
        if (!r.ok) {
          if (size > CAPACITY) expect(r.reason).toBe("too-large")
          expect(sortedIds(c.residents())).toEqual(before) // refused: nothing evicted
          log.push(`miss ${r.reason}`)
          break
        }
        for (const v of r.evicted) expect(busyBefore.has(v.id), `evicted busy ${v.id}`).toBe(false)
        if (ev.finish) r.entry.loading = false
        log.push(`miss ${sortedIds(r.evicted).join(",")}`)
        break
      }
      case "done":
        if (e) e.loading = false
        break
      case "begin":
        if (e) e.inFlight++
        break
      case "end":
        if (e && e.inFlight > 0) e.inFlight--
        break
      case "pin":
        if (e) e.pinned = ev.on
        break
      case "unload":
        if (e) c.remove(id)
        break
      case "resize": {
        if (!e) break
        // the measured size replaces the prediction; growing may evict others, never busy ones
        const out = c.resize(e, ev.size, now)
        if (out === null) {
          expect(sortedIds(c.residents())).toEqual(before)
          c.remove(id)
          log.push("resize refused")
          break
        }
        for (const v of out) expect(busyBefore.has(v.id) || v === e, `evicted busy ${v.id}`).toBe(false)
        log.push(`resize ${sortedIds(out).join(",")}`)
        break
      }
      case "expire": {
        const out = c.expire(now)
        for (const v of out) expect(busyBefore.has(v.id), `expired busy ${v.id}`).toBe(false)
        log.push(`expire ${sortedIds(out).join(",")}`)
        break
      }
    }
    expect(c.used).toBeLessThanOrEqual(CAPACITY)
    expect(c.used).toBe([...c.residents()].reduce((s, r) => s + r.size, 0))
  })
  return { log, cache: c }
}

const policies = policiesOf("eviction").map((d) => d.name)

describe("every eviction policy keeps the cache's rules (property-based)", () => {
  it.each(policies)("%s: capacity, busy models, too-large models, determinism, no lost residents", (policy) => {
    fc.assert(
      fc.property(scenario, ({ sizes, events }) => {
        const first = replay(policy, sizes, events)
        expect(replay(policy, sizes, events).log).toEqual(first.log)
        // The policy still knows every resident: once nothing is busy, a model as large as the
        // cache evicts all of them.
        const c = first.cache
        const all = sortedIds(c.residents())
        for (const r of c.residents()) {
          r.loading = false
          r.inFlight = 0
          r.pinned = false
        }
        const r = c.admit({ id: "whole", tenant: "t", size: CAPACITY, loadCostMs: 1 }, events.length * MINUTE)
        expect(r.ok).toBe(true)
        if (r.ok) expect(sortedIds(r.evicted)).toEqual(all)
        expect(c.count).toBe(1)
      }),
      { numRuns: 100, seed: 42 }
    )
  })
})

/** The classic definitions, on arrays: on a miss insert at the front, then evict from the back. */
const reference = (kind: "lru" | "fifo", sizes: readonly number[], requests: readonly number[]): boolean[] => {
  let queue: { m: number; size: number }[] = [] // front = newest
  let used = 0
  return requests.map((m) => {
    const at = queue.findIndex((x) => x.m === m)
    if (at >= 0) {
      if (kind === "lru") queue = [queue[at]!, ...queue.slice(0, at), ...queue.slice(at + 1)]
      return true
    }
    const size = sizes[m]!
    if (size > CAPACITY) return false // never admitted
    queue.unshift({ m, size })
    used += size
    while (used > CAPACITY) used -= queue.pop()!.size
    return false
  })
}

describe("lru and fifo match the classic definitions exactly", () => {
  it.each(["lru", "fifo"] as const)("%s: same hits and misses as a reference implementation", (kind) => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 120 }), { minLength: MODELS, maxLength: MODELS }),
        fc.array(model, { maxLength: 300, size: "max" }),
        (sizes, requests) => {
          const c = cacheOf(kind, CAPACITY)
          const got = requests.map((m, t) => {
            const e = c.get(`m${m}`)
            if (e) {
              c.hit(e, t)
              return true
            }
            const r = c.admit({ id: `m${m}`, tenant: "t", size: sizes[m]!, loadCostMs: 1 }, t)
            if (r.ok) r.entry.loading = false
            return false
          })
          expect(got).toEqual(reference(kind, sizes, requests))
        }
      ),
      { numRuns: 300, seed: 7 }
    )
  })
})
