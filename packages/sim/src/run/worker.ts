import { parentPort } from "node:worker_threads"
import { runJob, type FromWorker, type ToWorker } from "./job.js"

/** Runs jobs sent by the pool (./parallel.ts), one at a time, posting progress and the result. */
const port = parentPort
if (port === null) throw new Error("worker.ts must run in a worker thread")
const post = (m: FromWorker) => port.postMessage(m)
const PROGRESS_EVERY_MS = 150

port.on("message", (m: ToWorker) => {
  let last = 0
  const onProgress = (requests: number) => {
    const now = performance.now()
    if (now - last >= PROGRESS_EVERY_MS) {
      last = now
      post({ type: "progress", index: m.index, requests })
    }
  }
  runJob(m.job, onProgress).then(
    (output) => post({ type: "done", index: m.index, output }),
    (e: unknown) => {
      const err = e as Error & { _tag?: string }
      post({
        type: "error",
        index: m.index,
        message: err?.message ?? String(e),
        ...(err?._tag ? { tag: err._tag } : {}),
        ...(err?.stack ? { stack: err.stack } : {})
      })
    }
  )
})
