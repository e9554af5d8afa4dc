/**
 * Placement as both the simulator and a server run it: the policy chooses an instance, that
 * instance's cache admits the model (evicting by its own policy) or refuses (everything
 * evictable there is busy), and on a refusal the next choice is asked for, without the refused
 * instance, until one admits or no candidate is left. The shared rules live here so no caller
 * can get them wrong: an ineligible choice (holding the model, shutting down, too small, missing
 * a required label) is a policy bug and throws; refused instances are excluded only for this one
 * decision; the chosen view is updated at once (a reserved load, see instance-view.ts).
 *
 * Plain synchronous code: the simulator calls it on every miss, so nothing is allocated per call
 * (the refused list is a reused buffer, the admission an object the caller keeps).
 */
import { isEligible } from "../placement/constraints.js"
import type { PlacementPolicy, PlacementRequest } from "../placement/policy.js"
import type { InstanceViewState } from "./instance-view.js"

/** The admission step: the caller's cache (or, for a remote instance, its bookkeeping of it). */
export interface Admission<V extends InstanceViewState> {
  /** Make room for the model on `view`'s instance and take it; false = no room can be made there now. */
  admit(view: V, now: number): boolean
}

export class Placer<V extends InstanceViewState = InstanceViewState> {
  private readonly refused: V[] = []

  constructor(readonly policy: PlacementPolicy) {}

  /**
   * Place one new copy for `req` on one of `views` (which must be fresh enough for the policy to
   * judge: the caller marks `hasModel` on instances that already hold or are loading the model).
   * Returns the view of the instance that admitted it, or undefined when none could.
   */
  place(req: PlacementRequest, views: readonly V[], now: number, admission: Admission<V>): V | undefined {
    const refused = this.refused
    // usually empty: setting length is a runtime call even when nothing changes
    if (refused.length !== 0) refused.length = 0
    let chosen: V | undefined
    for (let attempt = 0; attempt < views.length; attempt++) {
      const v = this.policy.choose(req, views, now) as V | undefined
      if (v === undefined) break
      if (!isEligible(req, v)) throw new Error(`placement policy ${this.policy.name} chose ineligible instance ${v.id} for ${req.model.id}`)
      if (admission.admit(v, now)) {
        chosen = v
        break
      }
      // Refused: the next choice must not be this instance again. hasModel is the exclusion
      // every policy already honours (through the shared eligibility rule).
      v.hasModel = true
      refused.push(v)
    }
    for (let i = 0; i < refused.length; i++) refused[i]!.hasModel = false
    if (chosen !== undefined) reserve(chosen, req.sizeBytes)
    return chosen
  }
}

/** Count the new copy on its instance's view right away, before any record of it comes back. */
const reserve = (v: InstanceViewState, size: number): void => {
  v.hasModel = true
  v.loadingCount++
  v.modelCount++
  v.usedBytes += size
}
