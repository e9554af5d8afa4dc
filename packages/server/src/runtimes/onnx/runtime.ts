import { stat } from "node:fs/promises"
import { type LoadedModel, type ModelRuntime, RuntimeError } from "../runtime.js"
import { defaultSizeFactor, resolveOnnxOptions, SESSION_OVERHEAD_BYTES, type OnnxOptionsInput } from "./options.js"
import { firstLine, probeProviders, sessionOptions } from "./session.js"
import { inProcessHost, workerHost, type HostedSession } from "./session-host.js"

export * from "./options.js"

/**
 * ModelRuntime on onnxruntime-node.
 *
 * Where sessions run. onnxruntime-node creates sessions and runs them synchronously on the
 * calling JS thread: the event loop stands still for the whole load or inference (measured with
 * packages/bench/src/server/runtime-bench.ts: a 64 MiB model stalled it ~0.5 s in process, ~35 ms
 * with a worker). `workers: 0` (default) keeps sessions on the JS thread, like a bare
 * onnxruntime-node server and with the lowest per-call cost; `workers: N` moves them to N
 * worker threads, at about one message round trip per inference (mnist, sequential calls:
 * 220 µs in process vs 460 µs via a worker on the busy 2-core test machine).
 *
 * Size. Predicted = file size × sizeFactor + SESSION_OVERHEAD_BYTES. After load: the RSS growth
 * while the session was created, bounded to [file size + overhead, 4 × predicted], when no other
 * load of this runtime overlapped it; otherwise the prediction. Measured on this machine
 * (generated MLPs, 20 per size, RSS delta per model / file size): with glibc defaults
 * 1.75–1.9× for 1–16 MiB models and ≈1.0× for ≥ 64 MiB, and the freed load buffers of small
 * models stay in the heap even after release; with MALLOC_MMAP_THRESHOLD_=131072 in the
 * environment 1.03–1.23×, and release returns the memory. Hence the default factor: 1.25
 * (ModelMesh's) when that variable is set, else 2. A session also costs ≈ 270 KiB whatever the
 * file (100 × mnist, 26 KB file: 270–320 KiB RSS each).
 *
 * Threads: intraOpNumThreads unset = onnxruntime's default, one pool per session (one extra
 * thread per session on this 2-core machine); with thousands of models set it to 1.
 */

export interface OnnxRuntime extends ModelRuntime {
  /** The providers sessions are created with after the start-up probe (always ends with "cpu"). */
  readonly executionProviders: ReadonlyArray<string>
  readonly sizeFactor: number
  close(): Promise<void>
}

/** Build the runtime: decode the config (throws ParseError naming the field), probe providers. */
export const makeOnnxRuntime = async (
  config: OnnxOptionsInput = {},
  log: (line: string) => void = (line) => console.warn(line)
): Promise<OnnxRuntime> => {
  const c = resolveOnnxOptions(config)
  const providers = await probeProviders(c, log)
  const host = c.workers > 0 ? workerHost(c, providers, c.workers) : inProcessHost(sessionOptions(c, providers))
  await host.start()
  const sizeFactor = c.sizeFactor ?? defaultSizeFactor()
  const predict = (fileBytes: number): number => Math.round(fileBytes * sizeFactor) + SESSION_OVERHEAD_BYTES
  const loaded = new Set<LoadedModel>()
  let loadsInFlight = 0
  let loadsStarted = 0

  const fileSize = async (path: string, modelId: string): Promise<number> => {
    try {
      const s = await stat(path)
      if (!s.isFile()) throw new Error("not a regular file")
      return s.size
    } catch (e) {
      throw new RuntimeError({ kind: "load", message: `model ${modelId}: cannot read ${path}: ${firstLine(e)}` })
    }
  }

  const load = async (path: string, modelId: string): Promise<LoadedModel> => {
    const bytes = await fileSize(path, modelId)
    const alone = loadsInFlight === 0
    const ticket = ++loadsStarted
    loadsInFlight++
    const rssBefore = process.memoryUsage.rss()
    let session: HostedSession
    try {
      session = await host.open(path, modelId, bytes)
    } finally {
      loadsInFlight--
    }
    const rssDelta = process.memoryUsage.rss() - rssBefore
    const predicted = predict(bytes)
    const measured = c.measureSize && alone && loadsStarted === ticket
    const sizeBytes = measured ? Math.min(Math.max(rssDelta, bytes + SESSION_OVERHEAD_BYTES), 4 * predicted) : predicted
    const model = hostedModel(modelId, session, sizeBytes, () => loaded.delete(model))
    loaded.add(model)
    return model
  }

  return {
    name: "onnx",
    formats: ["onnx"],
    platform: "onnxruntime_onnx",
    executionProviders: providers,
    sizeFactor,
    predictSize: async (path) => predict(await fileSize(path, path)),
    load,
    close: async () => {
      await Promise.all([...loaded].map((m) => m.unload().catch(() => undefined)))
      await host.close()
    }
  }
}

const hostedModel = (modelId: string, session: HostedSession, sizeBytes: number, onUnload: () => void): LoadedModel => {
  let released: Promise<void> | undefined
  return {
    sizeBytes,
    inputs: session.inputs,
    outputs: session.outputs,
    infer: (inputs, outputNames) =>
      released
        ? Promise.reject(new RuntimeError({ kind: "infer", message: `model ${modelId} is unloaded` }))
        : session.run(inputs, outputNames),
    unload: () =>
      (released ??= session.release().then(onUnload, (e: unknown) => {
        onUnload()
        throw new RuntimeError({ kind: "infer", message: `model ${modelId}: release failed: ${firstLine(e)}` })
      }))
  }
}
