import { parentPort, workerData } from "node:worker_threads"
import { prepareWorkload, timedRate, type SimWorkloadData } from "./sim-workloads.js"

/**
 * One of the simulator benchmark's simulations in a worker thread of its own (see sim-part.ts for
 * why): materialises its trace and warms the JIT at start, then times one sample per "round".
 */

export interface ToSimWorker {
  readonly type: "round"
  /** simulations back to back in the sample */
  readonly times: number
}
export type FromSimWorker =
  | { readonly type: "ready"; readonly describe: string }
  | { readonly type: "round"; readonly reqPerSec: number }
  | { readonly type: "error"; readonly message: string }

const port = parentPort!
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e))
try {
  const data = workerData as SimWorkloadData
  const w = await prepareWorkload(data)
  // warm the JIT before timing: a first full-mode run is ~40 % slower than the third, a second
  // still up to ~10 % (ideal mode needs a few runs to reach its top tier)
  const warmups = data.workload === "ideal" ? 3 : 2
  for (let k = 0; k < warmups; k++) await w.run()
  port.on("message", async (m: ToSimWorker) => {
    try {
      port.postMessage({ type: "round", reqPerSec: await timedRate(w, m.times) } satisfies FromSimWorker)
    } catch (e) {
      port.postMessage({ type: "error", message: message(e) } satisfies FromSimWorker)
    }
  })
  port.postMessage({ type: "ready", describe: w.describe } satisfies FromSimWorker)
} catch (e) {
  port.postMessage({ type: "error", message: message(e) } satisfies FromSimWorker)
}
