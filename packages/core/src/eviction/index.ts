import type { PolicyDescriptor } from "../registry.js"
import { beladyPolicy } from "./belady.js"
import { beladySizePolicy } from "./belady-size.js"
import { fifoPolicy } from "./fifo.js"
import { gdsfPolicy } from "./gdsf.js"
import { hybridHistogramPolicy } from "./hybrid-histogram.js"
import { lfuPolicy } from "./lfu.js"
import { lruPolicy } from "./lru.js"
import { meshkitAdaptivePolicy } from "./meshkit-adaptive.js"
import { nextArrivalPolicy } from "./next-arrival.js"
import { s3fifoPolicy } from "./s3fifo.js"
import { sievePolicy } from "./sieve.js"
import { ttlPolicy } from "./ttl.js"

/** Every eviction policy, in the order `meshkit policies` lists them. Adding one = one file + one line. */
export const evictionPolicies: ReadonlyArray<PolicyDescriptor<"eviction">> = [
  lruPolicy,
  fifoPolicy,
  lfuPolicy,
  gdsfPolicy,
  sievePolicy,
  s3fifoPolicy,
  nextArrivalPolicy,
  ttlPolicy,
  hybridHistogramPolicy,
  meshkitAdaptivePolicy,
  beladyPolicy,
  beladySizePolicy
]
