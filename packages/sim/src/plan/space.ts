import { policiesOf, resolvePolicy, type Family, type PolicyChoice } from "@meshkit/core"
import { Data, Either } from "effect"
import { isOfflineChoice } from "../engine/simulate.js"
import type { LoadedScenario } from "../scenario/load.js"
import type { Candidate } from "./search.js"

/** Bad planner input (a bound, a policy list): the CLI prints the message and exits 2. */
export class PlanError extends Data.TaggedError("PlanError")<{ readonly message: string }> {}

export type Choice = PolicyChoice | string

/** One combination of policies, in the scenario's own `policies` field names. */
export interface PolicySet {
  readonly eviction: Choice
  readonly placement: Choice
  readonly routing: Choice
  readonly scaling: Choice
}

export const POLICY_FIELDS = ["eviction", "placement", "routing", "scaling"] as const
export type PolicyField = (typeof POLICY_FIELDS)[number]

export interface Range {
  readonly min: number
  readonly max: number
}

/** What the search may vary; absent fields take the scenario's defaults (see searchSpace). */
export interface SpaceOptions {
  readonly instances?: Range
  readonly memory?: Range
  /** policy names per field; eviction may be "online" */
  readonly policies?: Partial<Record<PolicyField, ReadonlyArray<string>>>
}

/**
 * The policy lists to combine: given names (checked against the catalogue; offline evictions
 * refused, they need the future), else the scenario's choices (its online evictions, its one
 * placement, routing and scaling policy, options included).
 */
export const policyLists = (loaded: LoadedScenario, given: SpaceOptions["policies"] = {}): Record<PolicyField, Choice[]> => {
  const s = loaded.scenario.policies
  const out = {} as Record<PolicyField, Choice[]>
  for (const field of POLICY_FIELDS) {
    const names = given[field]
    if (names === undefined) {
      out[field] = field === "eviction" ? loaded.evictions.filter((e) => !isOfflineChoice(e)) : [s[field]]
      if (out[field].length === 0) throw new PlanError({ message: `the scenario's policies.eviction lists only offline policies (they need the future); give --policies eviction=lru,...` })
      continue
    }
    const list = field === "eviction" && names.length === 1 && names[0] === "online" ? policiesOf("eviction").filter((d) => !d.offline).map((d) => d.name) : [...new Set(names)]
    if (list.length === 0) throw new PlanError({ message: `--policies ${field}= needs at least one policy name` })
    for (const name of list) {
      if (field === "scaling" && name === "none") continue
      const r = resolvePolicy(field as Family, name)
      if (Either.isLeft(r)) throw new PlanError({ message: `--policies ${field}: ${r.left.message}` })
      if (field === "eviction" && isOfflineChoice(name)) throw new PlanError({ message: `--policies eviction: ${name} is an offline bound (it needs the future): it cannot be deployed` })
    }
    out[field] = list
  }
  return out
}

/** Every combination of the lists, the first of each list first. */
export const policySets = (lists: Record<PolicyField, Choice[]>): PolicySet[] => {
  const out: PolicySet[] = []
  for (const eviction of lists.eviction)
    for (const placement of lists.placement)
      for (const scaling of lists.scaling)
        for (const routing of lists.routing) out.push({ eviction, placement, routing, scaling })
  return out
}

/** Instances min..max × policy sets, indexed in that order (the search's last tie-break). */
export const candidatesOf = (instances: Range, sets: readonly PolicySet[]): Candidate<PolicySet>[] => {
  const out: Candidate<PolicySet>[] = []
  for (const policies of sets) for (let n = instances.min; n <= instances.max; n++) out.push({ instances: n, policies, index: out.length })
  return out
}

export const checkRange = (name: string, r: Range, integer: boolean): void => {
  const ok = Number.isFinite(r.min) && Number.isFinite(r.max) && r.min > 0 && r.max >= r.min && (!integer || (Number.isInteger(r.min) && Number.isInteger(r.max)))
  if (!ok) throw new PlanError({ message: `--${name} ${r.min}..${r.max}: expected ${integer ? "whole numbers" : "sizes"} with 0 < min ≤ max` })
}
