import { buildPolicy, makeRng, ModelCache, type PolicyChoice, type Resident } from "@meshkit/core"

/** Shared helpers for the eviction tests (not a test file itself). */
export const cacheOf = (policy: PolicyChoice | string, capacity: number): ModelCache =>
  new ModelCache(capacity, buildPolicy("eviction", policy, { rng: makeRng(1), capacityBytes: capacity }))

export interface LoadOptions {
  readonly loadCostMs?: number
  readonly nextUse?: number
}

/** Admit a model and finish its load at once; returns the ids evicted for it. */
export const load = (c: ModelCache, id: string, size: number, now: number, o: LoadOptions = {}): string[] => {
  const r = c.admit({ id, tenant: "t", size, loadCostMs: o.loadCostMs ?? 1, nextUse: o.nextUse ?? Infinity }, now)
  if (!r.ok) throw new Error(`admit ${id} failed: ${r.reason}`)
  r.entry.loading = false
  return r.evicted.map((e) => e.id)
}

/** A request for a resident model. */
export const hit = (c: ModelCache, id: string, now: number, nextUse?: number): Resident => {
  const e = c.get(id)
  if (!e) throw new Error(`${id} is not resident`)
  if (nextUse !== undefined) e.nextUse = nextUse
  c.hit(e, now)
  return e
}

export const residentIds = (c: ModelCache): string[] => [...c.residents()].map((e) => e.id).sort()
export const ids = (rs: readonly Resident[]): string[] => rs.map((e) => e.id)
