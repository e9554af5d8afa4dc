import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import type { FromSimWorker, ToSimWorker } from "./sim-worker.js"
import type { SimWorkloadData } from "./sim-workloads.js"

/** A benchmark simulation running in its own worker thread: `round` times one sample there. */
export interface IsolatedSim {
  readonly describe: string
  /** simulated requests per CPU-second over `times` back-to-back simulations */
  readonly round: (times: number) => Promise<number>
  readonly stop: () => Promise<void>
}

/** set by bin/build.mjs in the bundle; undefined when running from the TypeScript sources */
declare const MESHKIT_BUNDLE_DIR: string | undefined

/** The bundled worker when running bundled, else the sources through tsx. */
const entry = (): URL =>
  typeof MESHKIT_BUNDLE_DIR === "string" ? pathToFileURL(join(MESHKIT_BUNDLE_DIR, "bench-sim-worker.mjs")) : new URL("./sim-worker-boot.mjs", import.meta.url)

export const startIsolatedSim = (data: SimWorkloadData): Promise<IsolatedSim> =>
  new Promise((resolve, reject) => {
    const name = data.workload
    const w = new Worker(entry(), { workerData: data, name: `meshkit-bench-sim-${name}` })
    let pending: { resolve: (v: number) => void; reject: (e: Error) => void } | undefined
    let ready = false
    const failed = (e: Error) => {
      if (!ready) reject(e)
      pending?.reject(e)
      pending = undefined
    }
    w.on("error", (e) => failed(new Error(`sim ${name}: worker failed: ${e.message}`)))
    w.on("exit", (code) => failed(new Error(`sim ${name}: worker exited (code ${code})`)))
    w.on("message", (m: FromSimWorker) => {
      if (m.type === "error") return failed(new Error(`sim ${name}: ${m.message}`))
      if (m.type === "ready") {
        ready = true
        return resolve({
          describe: m.describe,
          round: (times) =>
            new Promise<number>((res, rej) => {
              pending = { resolve: res, reject: rej }
              w.postMessage({ type: "round", times } satisfies ToSimWorker)
            }),
          stop: async () => {
            w.removeAllListeners("exit")
            await w.terminate()
          }
        })
      }
      const p = pending
      pending = undefined
      p?.resolve(m.reqPerSec)
    })
  })
