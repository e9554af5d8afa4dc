import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { buildPolicy, isEvictable, makeRng, ModelCache, policiesOf, type Resident, type TenantShares } from "@meshkit/core"

const CAPACITY = 100
const MODELS = 15
const TENANTS = ["t0", "t1", "t2"] as const
const MINUTE = 60_000
/** model m belongs to tenant m mod 3 */
const tenantOf = (m: number): string => TENANTS[m % TENANTS.length]!

type Event =
  | { readonly t: "req"; readonly m: number; readonly finish: boolean }
  | { readonly t: "done" | "begin" | "end" | "unload"; readonly m: number }
  | { readonly t: "resize"; readonly m: number; readonly size: number }

const model = fc.nat(MODELS - 1)
const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ t: fc.constant("req" as const), m: model, finish: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("done" as const), m: model }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constantFrom("begin" as const, "end" as const), m: model }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("unload" as const), m: model }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("resize" as const), m: model, size: fc.integer({ min: 1, max: 60 }) }) }
)
/** Shares of up to three tenants (a tenant may be missing: share 0), adding up to at most the capacity. */
const shares: fc.Arbitrary<TenantShares> = fc
  .tuple(fc.nat(60), fc.nat(60), fc.option(fc.nat(60), { nil: undefined }))
  .map(([a, b, c]) => {
    const raw: [string, number][] = [["t0", a], ["t1", b]]
    if (c !== undefined) raw.push(["t2", c])
    const sum = raw.reduce((s, [, v]) => s + v, 0)
    const scale = sum > CAPACITY ? CAPACITY / sum : 1
    return new Map(raw.map(([t, v]) => [t, Math.floor(v * scale)]))
  })
const scenario = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 60 }), { minLength: MODELS, maxLength: MODELS }),
  events: fc.array(event, { maxLength: 100, size: "max" })
})

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

const usageOf = (c: ModelCache): Map<string, number> => {
  const u = new Map<string, number>()
  for (const e of c.residents()) u.set(e.tenant, (u.get(e.tenant) ?? 0) + e.size)
  return u
}

/**
 * The fair-share rule, checked on one admission (or growth) by `tenant` of `incoming` bytes:
 *  - a tenant other than the requester loses bytes only while it is over its share;
 *  - when the requester ends over its share, the others lose only borrowed bytes (each stays at
 *    or above its share);
 *  - when nothing is busy and the requester stays within its share, there is always room.
 */
const checkRule = (
  s: TenantShares,
  before: ReadonlyMap<string, number>,
  tenant: string,
  incoming: number,
  victims: readonly Resident[] | null,
  allIdle: boolean
): void => {
  const share = (t: string) => s.get(t) ?? 0
  const used = (t: string) => before.get(t) ?? 0
  const requesterOver = used(tenant) + incoming > share(tenant)
  if (victims === null) {
    expect(allIdle && !requesterOver, `no room for ${tenant} within its share with nothing busy`).toBe(false)
    return
  }
  const lost = new Map<string, number>()
  for (const v of victims) {
    if (v.tenant === tenant) continue
    const sofar = lost.get(v.tenant) ?? 0
    // at the moment it went, its tenant was over its share
    expect(used(v.tenant) - sofar, `${v.id} of within-share ${v.tenant} evicted for ${tenant}`).toBeGreaterThan(share(v.tenant))
    lost.set(v.tenant, sofar + v.size)
  }
  if (requesterOver)
    for (const [t, l] of lost) expect(used(t) - l, `${t} pushed below its share by over-share ${tenant}`).toBeGreaterThanOrEqual(share(t))
}

/** Replay; returns a log of outcomes (victims in order). Checks the rule when `check` is given. */
const replay = (policy: string, opts: { shares?: TenantShares } | undefined, sizes: readonly number[], events: readonly Event[], check?: TenantShares): string[] => {
  const c = new ModelCache(CAPACITY, buildPolicy("eviction", policy, { rng: makeRng(1), capacityBytes: CAPACITY }), opts)
  const next = nextUses(events)
  const log: string[] = []
  events.forEach((ev, i) => {
    const now = i * MINUTE
    const id = `m${ev.m}`
    const tenant = tenantOf(ev.m)
    const e = c.get(id)
    const before = usageOf(c)
    const allIdle = [...c.residents()].every(isEvictable)
    switch (ev.t) {
      case "req": {
        if (e) {
          e.nextUse = next[i]!
          c.hit(e, now)
          log.push("hit")
          break
        }
        const size = sizes[ev.m]!
        const r = c.admit({ id, tenant, size, loadCostMs: 10 + size, nextUse: next[i]! }, now)
        if (!r.ok) {
          expect(usageOf(c)).toEqual(before) // refused: nothing evicted
          if (check && r.reason === "no-room") checkRule(check, before, tenant, size, null, allIdle)
          log.push(`miss ${r.reason}`)
          break
        }
        if (check) checkRule(check, before, tenant, size, r.evicted, allIdle)
        if (ev.finish) r.entry.loading = false
        log.push(`miss ${r.evicted.map((v) => v.id).join(",")}`)
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
      case "unload":
        if (e) c.remove(id)
        break
      case "resize": {
        if (!e) break
        const delta = ev.size - e.size
        const idleOthers = [...c.residents()].every((r) => r === e || isEvictable(r))
        const out = c.resize(e, ev.size, now)
        if (out === null) {
          expect(usageOf(c)).toEqual(before)
          if (check && ev.size <= CAPACITY) checkRule(check, before, tenant, delta, null, idleOthers)
          c.remove(id)
          log.push("resize refused")
          break
        }
        if (check && delta > 0) checkRule(check, before, tenant, delta, out, idleOthers)
        log.push(`resize ${out.map((v) => v.id).join(",")}`)
        break
      }
    }
    expect(c.used).toBeLessThanOrEqual(CAPACITY)
    expect(c.used).toBe([...c.residents()].reduce((s, r) => s + r.size, 0))
    for (const t of TENANTS) expect(c.usedBy(t)).toBe(usageOf(c).get(t) ?? 0)
  })
  return log
}

const policies = policiesOf("eviction").map((d) => d.name)

describe("fair memory shares keep their rule under every eviction policy (property-based)", () => {
  it.each(policies)("%s: within-share tenants never lose bytes to others over their share; used ≤ capacity", (policy) => {
    fc.assert(
      fc.property(shares, scenario, (s, { sizes, events }) => {
        replay(policy, { shares: s }, sizes, events, s)
      }),
      { numRuns: 100, seed: 10 }
    )
  })

  it.each(policies)("%s: no shares, an empty map and all-zero shares decide exactly as before", (policy) => {
    fc.assert(
      fc.property(scenario, ({ sizes, events }) => {
        const plain = replay(policy, undefined, sizes, events)
        expect(replay(policy, { shares: new Map() }, sizes, events)).toEqual(plain)
        expect(replay(policy, { shares: new Map(TENANTS.map((t) => [t, 0])) }, sizes, events)).toEqual(plain)
      }),
      { numRuns: 60, seed: 11 }
    )
  })
})
