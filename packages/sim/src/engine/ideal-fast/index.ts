/** The integer fast path of ideal-mode replay: see run-fast.ts. */
export { FAST_IDEAL_POLICIES, fastIdealPolicy, type FastIdealPolicy } from "./qualifies.js"
export { runIdealFast } from "./run-fast.js"
