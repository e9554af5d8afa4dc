import type { PolicyDescriptor } from "../registry.js"
import { modelmeshScalingPolicy } from "./modelmesh.js"

/** Every scaling policy, in the order `meshkit policies` lists them. Adding one = one file + one line. */
export const scalingPolicies: ReadonlyArray<PolicyDescriptor<"scaling">> = [modelmeshScalingPolicy]
