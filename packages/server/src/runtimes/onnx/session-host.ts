import type * as ort from "onnxruntime-node"
import { Worker } from "node:worker_threads"
import type { OnnxRuntimeConfig } from "./options.js"
import { openSession, runSession } from "./session.js"
import { timedCreate, timedRelease } from "./js-thread-hold.js"
import type { FromWorker, LoadReply, ToWorker } from "./worker-protocol.js"
import { RuntimeError, type Tensor, type TensorMeta } from "../runtime.js"

/** Where sessions live: on the JS thread, or in worker threads. */
export interface SessionHost {
  /** Get ready before the first load (a worker's start-up must not count as a model's memory). */
  start(): Promise<void>
  /** `fileBytes` lets a pool spread memory evenly over its workers. */
  open(path: string, modelId: string, fileBytes: number): Promise<HostedSession>
  close(): Promise<void>
}

export interface HostedSession {
  readonly inputs: ReadonlyArray<TensorMeta>
  readonly outputs: ReadonlyArray<TensorMeta>
  run(inputs: ReadonlyArray<Tensor>, outputNames?: ReadonlyArray<string>): Promise<Tensor[]>
  release(): Promise<void>
}

export const inProcessHost = (options: ort.InferenceSession.SessionOptions): SessionHost => ({
  start: async () => undefined,
  open: async (path, modelId) => {
    const s = await timedCreate(() => openSession(path, modelId, options))
    return {
      inputs: s.inputs,
      outputs: s.outputs,
      run: (inputs, outputNames) => runSession(s, modelId, inputs, outputNames),
      release: () => timedRelease(() => s.session.release())
    }
  },
  close: async () => undefined
})

interface Slot {
  readonly index: number
  worker: Worker | undefined
  ready: Promise<void> | undefined
  /** Bumped when the worker dies: sessions of an older generation are gone. */
  generation: number
  bytes: number
  readonly pending: Map<number, { resolve: (m: FromWorker) => void; reject: (e: RuntimeError) => void; op: ToWorker["op"] }>
}

const ENTRY = new URL("./worker-entry.mjs", import.meta.url)

/**
 * Sessions spread over `count` worker threads (each new model goes to the worker holding the
 * fewest bytes). A worker that dies fails its pending calls and loses its models (their calls
 * then fail with kind "infer"); the next load starts a fresh worker in its place.
 */
export const workerHost = (
  config: OnnxRuntimeConfig,
  providers: ReadonlyArray<string>,
  count: number
): SessionHost & { /** Stop worker `index` abruptly (tests: what a crash does). */ kill(index: number): Promise<void> } => {
  let rid = 0
  let key = 0
  let closed = false
  const slots: Slot[] = Array.from({ length: count }, (_, index) => ({
    index,
    worker: undefined,
    ready: undefined,
    generation: 0,
    bytes: 0,
    pending: new Map()
  }))

  const lose = (slot: Slot, why: string): void => {
    slot.worker = undefined
    slot.ready = undefined
    slot.generation++
    slot.bytes = 0
    for (const p of slot.pending.values()) {
      p.reject(new RuntimeError({ kind: p.op === "load" ? "load" : "infer", message: `onnx runtime worker ${slot.index} ${why}` }))
    }
    slot.pending.clear()
  }

  const send = (slot: Slot, m: ToWorker, transfer: ArrayBuffer[] = []): Promise<FromWorker> =>
    new Promise((resolve, reject) => {
      const w = slot.worker
      if (!w) return reject(new RuntimeError({ kind: m.op === "load" ? "load" : "infer", message: `onnx runtime worker ${slot.index} is not running` }))
      // A worker with calls pending keeps the process alive; an idle one must not.
      if (slot.pending.size === 0) w.ref()
      slot.pending.set(m.rid, { resolve, reject, op: m.op })
      w.postMessage(m, transfer)
    })

  const start = (slot: Slot): Promise<void> => {
    if (slot.ready) return slot.ready
    const w = new Worker(ENTRY, { name: `meshkit-onnx-${slot.index}` })
    slot.worker = w
    w.on("message", (m: FromWorker) => {
      const p = slot.pending.get(m.rid)
      slot.pending.delete(m.rid)
      if (slot.pending.size === 0) w.unref()
      p?.resolve(m)
    })
    w.on("error", (e) => slot.worker === w && lose(slot, `failed: ${e.message}`))
    w.on("exit", (code) => slot.worker === w && lose(slot, `exited with code ${code}; its models must be loaded again`))
    const ready = send(slot, { op: "init", rid: ++rid, config, providers })
      .then((m) => void ok(m))
      .catch((e: unknown) => {
        // A worker that cannot start is stopped; its exit resets the slot for the next try.
        void w.terminate()
        throw e
      })
    slot.ready = ready
    return ready
  }

  const ok = (m: FromWorker): LoadReply | Tensor[] | undefined => {
    if (!m.ok) throw new RuntimeError({ kind: m.kind, message: m.message })
    return m.value
  }

  return {
    start: async () => {
      await Promise.all(slots.map(start))
    },
    open: async (path, modelId, fileBytes) => {
      if (closed) throw new RuntimeError({ kind: "load", message: "onnx runtime is closed" })
      const slot = slots.reduce((a, b) => (b.bytes < a.bytes ? b : a))
      slot.bytes += fileBytes
      const k = ++key
      let meta: LoadReply
      const before = slot.generation
      try {
        await start(slot)
        meta = ok(await send(slot, { op: "load", rid: ++rid, key: k, path, modelId })) as LoadReply
      } catch (e) {
        if (slot.generation === before) slot.bytes -= fileBytes
        throw e
      }
      const generation = slot.generation
      const alive = () => slot.generation === generation && slot.worker !== undefined
      let released = false
      return {
        inputs: meta.inputs,
        outputs: meta.outputs,
        run: async (inputs, outputNames) => {
          if (!alive()) throw new RuntimeError({ kind: "infer", message: `model ${modelId} was lost when its onnx runtime worker ${slot.index} stopped` })
          // Structured clone copies each input's whole ArrayBuffer: send exact-size copies, transferred.
          const transfer: ArrayBuffer[] = []
          const own = inputs.map((t) => {
            if (Array.isArray(t.data)) return t
            const copy = t.data.slice() as typeof t.data
            transfer.push(copy.buffer as ArrayBuffer)
            return { ...t, data: copy }
          })
          return ok(await send(slot, { op: "infer", rid: ++rid, key: k, inputs: own, ...(outputNames ? { outputNames } : {}) }, transfer)) as Tensor[]
        },
        release: async () => {
          if (released) return
          released = true
          if (!alive()) return
          slot.bytes -= fileBytes
          ok(await send(slot, { op: "unload", rid: ++rid, key: k }))
        }
      }
    },
    kill: async (index) => {
      await slots[index]?.worker?.terminate()
    },
    close: async () => {
      closed = true
      await Promise.all(
        slots.map(async (s) => {
          const w = s.worker
          s.worker = undefined
          s.ready = undefined
          if (w) await w.terminate()
        })
      )
    }
  }
}
