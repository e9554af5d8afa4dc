import type { PolicyDescriptor } from "../registry.js"
import { fifoPolicy } from "./fifo.js"
import { lruPolicy } from "./lru.js"

/** Every eviction policy, in the order `meshkit policies` lists them. Adding one = one file + one line. */
export const evictionPolicies: ReadonlyArray<PolicyDescriptor<"eviction">> = [lruPolicy, fifoPolicy]
