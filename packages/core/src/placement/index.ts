import type { PolicyDescriptor } from "../registry.js"

/** Every placement policy, in the order `meshkit policies` lists them. Adding one = one file + one line. */
export const placementPolicies: ReadonlyArray<PolicyDescriptor<"placement">> = []
