import { parentPort } from "node:worker_threads"
import { sessionOptions, openSession, runSession, probeProviders, type OpenSession } from "./session.js"
import { RuntimeError, type Tensor } from "../runtime.js"
import type { FromWorker, ToWorker } from "./worker-protocol.js"

/**
 * Body of an onnx runtime worker thread: holds sessions by key and runs them, so that session
 * creation and inference (both synchronous inside onnxruntime-node) block this thread, not the
 * server's event loop.
 */
const port = parentPort!
const sessions = new Map<number, OpenSession & { readonly modelId: string }>()
let options: ReturnType<typeof sessionOptions> | undefined

const reply = (m: FromWorker, transfer: ArrayBuffer[] = []): void => {
  try {
    port.postMessage(m, transfer)
  } catch {
    // Buffers onnxruntime does not let go of cannot be transferred: send a copy instead.
    port.postMessage(m)
  }
}

const handle = async (m: ToWorker): Promise<void> => {
  switch (m.op) {
    case "init": {
      options = sessionOptions(m.config, m.providers)
      // Initialise onnxruntime on this thread now rather than inside the first timed load.
      await probeProviders({ ...m.config, executionProviders: ["cpu"] }, () => undefined)
      return reply({ rid: m.rid, ok: true })
    }
    case "load": {
      const s = await openSession(m.path, m.modelId, options!)
      sessions.set(m.key, { ...s, modelId: m.modelId })
      return reply({ rid: m.rid, ok: true, value: { inputs: s.inputs, outputs: s.outputs } })
    }
    case "infer": {
      const s = sessions.get(m.key)
      if (!s) throw new RuntimeError({ kind: "infer", message: `session ${m.key} is not loaded in this worker` })
      const out: Tensor[] = await runSession(s, s.modelId, m.inputs, m.outputNames)
      const buffers = new Set<ArrayBuffer>()
      for (const t of out) if (!Array.isArray(t.data)) buffers.add(t.data.buffer as ArrayBuffer)
      return reply({ rid: m.rid, ok: true, value: out }, [...buffers])
    }
    case "unload": {
      const s = sessions.get(m.key)
      sessions.delete(m.key)
      await s?.session.release()
      return reply({ rid: m.rid, ok: true })
    }
  }
}

port.on("message", (m: ToWorker) => {
  handle(m).catch((e: unknown) => {
    const kind = e instanceof RuntimeError ? e.kind : m.op === "load" ? "load" : "infer"
    reply({ rid: m.rid, ok: false, kind, message: e instanceof Error ? e.message : String(e) })
  })
})
