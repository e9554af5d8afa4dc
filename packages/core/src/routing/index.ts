import type { PolicyDescriptor } from "../registry.js"

/** Every routing policy, in the order `meshkit policies` lists them. Adding one = one file + one line. */
export const routingPolicies: ReadonlyArray<PolicyDescriptor<"routing">> = []
