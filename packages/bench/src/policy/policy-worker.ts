import { parentPort, workerData } from "node:worker_threads"
import { Bench } from "tinybench"
import { makeReplay, makeStream } from "./eviction-bench.js"

/**
 * One eviction policy's replay in a worker thread of its own (see policy-part.ts for why): builds
 * the stream and fills the cache at start, then times one round per "round" message.
 */

export interface PolicyWorkerData {
  readonly policy: string
}
export interface ToPolicyWorker {
  readonly type: "round"
  readonly timeMs: number
  readonly chunk: number
}
export type FromPolicyWorker = { readonly type: "ready" } | { readonly type: "round"; readonly mReqPerSec: number } | { readonly type: "error"; readonly message: string }

/** This process's CPU time (user + system) in ms: the main thread and the other workers wait while one worker times. */
const cpuNowMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

const port = parentPort!
const { policy } = workerData as PolicyWorkerData
try {
  // bench-core's stream, shorter (2^18 requests, replayed cyclically) so filling the slowest offline policy takes seconds, not tens
  const stream = makeStream({ models: 12_000, residents: 10_000, alpha: 0.9, length: 1 << 18, seed: 1 })
  const replay = makeReplay(policy, stream)
  replay.step(stream.model.length) // one full pass fills the cache
  port.on("message", async (m: ToPolicyWorker) => {
    try {
      const bench = new Bench({ time: m.timeMs, iterations: 3, warmup: false, now: cpuNowMs })
      bench.add(policy, () => replay.step(m.chunk))
      await bench.run()
      const r = bench.tasks[0]!.result
      if (!("latency" in r)) throw new Error(`bench of ${policy} did not complete: ${r.state}`)
      port.postMessage({ type: "round", mReqPerSec: m.chunk / (r.latency.mean / 1000) / 1e6 } satisfies FromPolicyWorker)
    } catch (e) {
      port.postMessage({ type: "error", message: e instanceof Error ? e.message : String(e) } satisfies FromPolicyWorker)
    }
  })
  port.postMessage({ type: "ready" } satisfies FromPolicyWorker)
} catch (e) {
  port.postMessage({ type: "error", message: e instanceof Error ? e.message : String(e) } satisfies FromPolicyWorker)
}
