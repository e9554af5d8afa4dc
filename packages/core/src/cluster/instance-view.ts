/**
 * What placement and scaling read about one instance, as one mutable record per instance that
 * its owner refreshes in place (no object per decision). The simulator fills it from its
 * simulated instances before each placement; a server fills it from the instance records it
 * watches (its own instance from its cache). `place` updates the chosen record at decision time
 * (a reserved load), so a caller that does not refresh between decisions still sees the load it
 * just sent there and does not herd the next ones onto the same instance (kserve/modelmesh#469).
 */
import type { InstanceId, InstanceView } from "../domain.js"

export class InstanceViewState implements InstanceView {
  usedBytes = 0
  labels: Readonly<Record<string, string>> = {}
  loadingCount = 0
  inFlight = 0
  modelCount = 0
  lruTime = Infinity
  rpm = 0
  shuttingDown = false
  hasModel = false
  /** the instance's software version, for rollouts that place only on one version (optional) */
  version = ""

  constructor(
    /** position in the caller's array of views: lets a policy's choice map back to the caller's instance */
    readonly index: number,
    readonly id: InstanceId,
    public capacityBytes: number,
    public maxConcurrentLoads: number
  ) {}
}

/** Fraction of the views' total capacity that is free, 0..1 (ModelLoadStats.clusterFreeFraction). */
export const clusterFreeFraction = (views: readonly InstanceView[]): number => {
  let used = 0
  let cap = 0
  for (let i = 0; i < views.length; i++) {
    used += views[i]!.usedBytes
    cap += views[i]!.capacityBytes
  }
  return cap > 0 ? Math.max(0, 1 - used / cap) : 0
}
