import type { PolicyDescriptor } from "../registry.js"

/** Every scaling policy, in the order `meshkit policies` lists them. Adding one = one file + one line. */
export const scalingPolicies: ReadonlyArray<PolicyDescriptor<"scaling">> = []
