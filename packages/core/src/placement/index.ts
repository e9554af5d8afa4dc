import type { PolicyDescriptor } from "../registry.js"
import { consistentHashPlacementPolicy } from "./consistent-hash-bounded.js"
import { leastLoadedPlacementPolicy } from "./least-loaded.js"
import { modelmeshPlacementPolicy } from "./modelmesh.js"
import { mostFreeSpacePlacementPolicy } from "./most-free-space.js"
import { powerOfTwoPlacementPolicy } from "./power-of-two-choices.js"

/** Every placement policy, in the order `meshkit policies` lists them. Adding one = one file + one line. */
export const placementPolicies: ReadonlyArray<PolicyDescriptor<"placement">> = [
  modelmeshPlacementPolicy,
  leastLoadedPlacementPolicy,
  mostFreeSpacePlacementPolicy,
  powerOfTwoPlacementPolicy,
  consistentHashPlacementPolicy
]
