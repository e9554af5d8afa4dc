import type { PolicyDescriptor } from "../registry.js"
import { leastInFlightPolicy } from "./least-in-flight.js"
import { powerOfTwoRoutingPolicy } from "./power-of-two-choices.js"
import { roundRobinPolicy } from "./round-robin.js"

/** Every routing policy, in the order `meshkit policies` lists them. Adding one = one file + one line. */
export const routingPolicies: ReadonlyArray<PolicyDescriptor<"routing">> = [
  leastInFlightPolicy,
  powerOfTwoRoutingPolicy,
  roundRobinPolicy
]
