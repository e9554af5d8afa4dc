import type { PolicyDescriptor } from "../registry.js"
import { dynamicBatchingPolicy } from "./dynamic.js"

/** Every batching policy, in the order `meshkit policies` lists them. Adding one = one file + one line. */
export const batchingPolicies: ReadonlyArray<PolicyDescriptor<"batching">> = [dynamicBatchingPolicy]
