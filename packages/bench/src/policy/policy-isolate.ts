import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import type { FromPolicyWorker, PolicyWorkerData, ToPolicyWorker } from "./policy-worker.js"

/** A policy's replay running in its own worker thread: `round` times one round there. */
export interface IsolatedPolicy {
  readonly policy: string
  readonly round: (timeMs: number, chunk: number) => Promise<number>
  readonly stop: () => Promise<void>
}

/** set by bin/build.mjs in the bundle; undefined when running from the TypeScript sources */
declare const MESHKIT_BUNDLE_DIR: string | undefined

/** The bundled worker when running bundled (starts in ~0.1 s), else the sources through tsx (~2 s). */
const entry = (): URL =>
  typeof MESHKIT_BUNDLE_DIR === "string" ? pathToFileURL(join(MESHKIT_BUNDLE_DIR, "bench-policy-worker.mjs")) : new URL("./worker-boot.mjs", import.meta.url)

export const startIsolatedPolicy = (policy: string): Promise<IsolatedPolicy> =>
  new Promise((resolve, reject) => {
    const w = new Worker(entry(), { workerData: { policy } satisfies PolicyWorkerData, name: `meshkit-bench-${policy}` })
    let pending: { resolve: (v: number) => void; reject: (e: Error) => void } | undefined
    let ready = false
    const failed = (e: Error) => {
      if (!ready) reject(e)
      pending?.reject(e)
      pending = undefined
    }
    w.on("error", (e) => failed(new Error(`policy ${policy}: worker failed: ${e.message}`)))
    w.on("exit", (code) => failed(new Error(`policy ${policy}: worker exited (code ${code})`)))
    w.on("message", (m: FromPolicyWorker) => {
      if (m.type === "error") return failed(new Error(`policy ${policy}: ${m.message}`))
      if (m.type === "ready") {
        ready = true
        return resolve({
          policy,
          round: (timeMs, chunk) =>
            new Promise<number>((res, rej) => {
              pending = { resolve: res, reject: rej }
              w.postMessage({ type: "round", timeMs, chunk } satisfies ToPolicyWorker)
            }),
          stop: async () => {
            w.removeAllListeners("exit")
            await w.terminate()
          }
        })
      }
      const p = pending
      pending = undefined
      p?.resolve(m.mReqPerSec)
    })
  })
