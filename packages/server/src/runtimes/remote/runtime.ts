import * as grpc from "@grpc/grpc-js"
import { formatBytes } from "@meshkit/core"
import type { Log } from "../../observability/log.js"
import type { GrpcModelInferResponse } from "../../transport/kserve-v2/index.js"
import { type LoadedModel, type LoadTarget, type ModelRuntime, type RuntimeHealth, RuntimeError, type Tensor, type TensorMeta } from "../runtime.js"
import { grpcText, isServiceError, isUnreachable, openChannel, type RuntimeChannel, unary } from "./channel.js"
import { inferRequestOf, outputsOf, tensorMetaOf } from "./infer-messages.js"
import type { LoadModelResponse, RuntimeStatusResponse, SizeResponse } from "./mmesh-definition.js"
import type { RemoteRuntimeSpec } from "./options.js"
import { Semaphore } from "./semaphore.js"

/**
 * A model runtime in another process, spoken to as ModelMesh speaks to its sidecar runtimes:
 * `mmesh.ModelRuntime` to load, size and unload, KServe v2 `ModelInfer` with the `mm-model-id`
 * header to serve. What the runtime reports at start (runtimeStatus) is honoured: its capacity
 * is the memory budget of the models loaded there (the manager gives it a cache of its own),
 * its loading timeout is the deadline of loadModel, its maximum loading concurrency bounds the
 * loads in flight, and with limitModelConcurrency each model's maxConcurrency limits its
 * requests in flight (queued here beyond it).
 *
 * Health: runtimeStatus is asked every `healthInterval`, and the channel's connectivity is
 * watched. A failed check, a dropped connection or a call that finds the runtime unreachable
 * marks it unavailable: its models are gone (a runtime purges its models when it restarts), the
 * manager marks them LOADING_FAILED with the reason, and loads fail fast. When runtimeStatus
 * answers READY again, listeners hear it and models load again on their next request.
 */
export class RemoteRuntime implements ModelRuntime {
  readonly name: string
  readonly formats: ReadonlyArray<string>
  readonly platform: string
  private status!: RuntimeStatusResponse
  private healthy = false
  private reason = "not started"
  /** bumped on every loss: a model loaded before it is already gone on the runtime's side */
  private generation = 0
  private readonly listeners: Array<(h: RuntimeHealth) => void> = []
  private loads!: Semaphore
  private timer: NodeJS.Timeout | undefined
  private checking = false
  private slowChecks = 0
  private closed = false
  /** models loaded there now (as far as this side knows) */
  private readonly resident = new Set<string>()
  /** models dropped at a loss, unloaded there before the runtime is used again */
  private readonly orphans = new Set<string>()

  constructor(
    private readonly spec: RemoteRuntimeSpec,
    private readonly channel: RuntimeChannel,
    private readonly log: Log
  ) {
    this.name = spec.name
    this.formats = spec.modelTypes
    this.platform = spec.name
  }

  get where(): string {
    return `remote runtime ${this.spec.name} at ${this.spec.address}`
  }
  get capacityBytes(): number {
    return this.status.capacityInBytes
  }
  get loadingTimeoutMs(): number {
    return this.status.modelLoadingTimeoutMs
  }

  health(): RuntimeHealth {
    return this.healthy ? { ready: true } : { ready: false, reason: this.reason }
  }
  onHealthChange(listener: (h: RuntimeHealth) => void): void {
    this.listeners.push(listener)
  }

  /** Wait for runtimeStatus READY (polling with backoff) up to the start-up timeout, then watch health. */
  async start(): Promise<void> {
    const deadline = Date.now() + this.spec.startupTimeout
    let delay = 100
    let last = ""
    this.log.info(`${this.where}: waiting for it to be READY`, { timeoutMs: this.spec.startupTimeout })
    for (;;) {
      let note: string
      let s: RuntimeStatusResponse | undefined
      try {
        s = await unary<RuntimeStatusResponse>(this.channel.runtime, "runtimeStatus", {}, Math.min(5000, Math.max(500, deadline - Date.now())))
        note = `status ${s.status}`
      } catch (e) {
        note = `unreachable: ${grpcText(e)}`
      }
      if (s?.status === "READY") {
        this.accept(s)
        break
      }
      if (note !== last) this.log.info(`${this.where}: not ready yet (${note})`)
      last = note
      const left = deadline - Date.now()
      if (left <= 0 || this.closed) {
        throw new RuntimeError({ kind: "load", message: `${this.where} did not become READY within ${Math.round(this.spec.startupTimeout / 100) / 10} s (last: ${note})` })
      }
      await sleep(Math.min(delay, left))
      delay = Math.min(2000, delay * 1.5)
    }
    this.healthy = true
    const s = this.status
    this.log.info(`${this.where} is READY`, {
      capacity: formatBytes(s.capacityInBytes),
      maxLoadingConcurrency: s.maxLoadingConcurrency,
      modelLoadingTimeoutMs: s.modelLoadingTimeoutMs,
      defaultModelSize: formatBytes(s.defaultModelSizeInBytes),
      limitModelConcurrency: s.limitModelConcurrency,
      runtimeVersion: s.runtimeVersion
    })
    this.channel.watch((from, to) => {
      if (from === grpc.connectivityState.READY && to !== grpc.connectivityState.READY) this.lost(`connection lost (${grpc.connectivityState[to]})`)
    })
    this.timer = setInterval(() => void this.check(), this.spec.healthInterval)
    this.timer.unref()
  }

  private accept(s: RuntimeStatusResponse): void {
    if (!(s.capacityInBytes > 0)) throw new RuntimeError({ kind: "load", message: `${this.where} reports capacityInBytes ${s.capacityInBytes}; a runtime must report its memory capacity` })
    this.status = s
    // 0 = the runtime sets no limit of its own.
    this.loads = new Semaphore(s.maxLoadingConcurrency > 0 ? s.maxLoadingConcurrency : Infinity)
  }

  private async check(): Promise<void> {
    if (this.checking || this.closed) return
    this.checking = true
    try {
      const s = await unary<RuntimeStatusResponse>(this.channel.runtime, "runtimeStatus", {}, HEALTH_DEADLINE_MS)
      this.slowChecks = 0
      if (s.status !== "READY") this.lost(`runtimeStatus is ${s.status}`)
      else if (!this.healthy) {
        // Models this side dropped may still be there if the runtime never died (a lost
        // connection, a slow answer): unload them first, so its memory holds only what the new
        // cache counts. On a restarted runtime each unload returns at once (nothing loaded).
        const orphans = [...this.orphans]
        this.orphans.clear()
        await Promise.all(orphans.map((id) => unary(this.channel.runtime, "unloadModel", { modelId: id }, 30_000).catch(() => undefined)))
        this.healthy = true
        this.log.info(`${this.where} is READY again; its models load on their next request`, { unloadedFirst: orphans.length })
        // The cache was sized at start (the SPI calls runtimeStatus only then): say so if it moved.
        if (s.capacityInBytes !== this.status.capacityInBytes) {
          this.log.warn(`${this.where} now reports capacity ${formatBytes(s.capacityInBytes)}; its models stay within the ${formatBytes(this.status.capacityInBytes)} it reported at start`)
        }
        for (const l of this.listeners) l({ ready: true })
      }
    } catch (e) {
      // Refused connections are final; a slow answer (a runtime busy loading) must repeat to count.
      if (isUnreachable(e) || ++this.slowChecks >= SLOW_CHECKS_TO_LOSE) this.lost(grpcText(e))
    } finally {
      this.checking = false
    }
  }

  /** The runtime is gone (or restarted): every model it held is gone with it. */
  private lost(why: string): void {
    if (this.closed || !this.healthy) return
    this.healthy = false
    this.generation++
    for (const id of this.resident) this.orphans.add(id)
    this.resident.clear()
    this.reason = `${this.where} is unavailable: ${why}`
    this.log.warn(this.reason)
    for (const l of this.listeners) l({ ready: false, reason: this.reason })
  }

  private unavailable(): RuntimeError {
    return new RuntimeError({ kind: "load", message: this.reason })
  }

  /** A failed call: unreachable → the runtime is lost; otherwise the runtime's own answer. */
  private callFailed(what: string, e: unknown): RuntimeError {
    if (isUnreachable(e)) {
      this.lost(grpcText(e))
      return this.unavailable()
    }
    return new RuntimeError({ kind: "load", message: `${this.where}: ${what} failed: ${grpcText(e)}` })
  }

  async predictSize(path: string, target?: LoadTarget): Promise<number> {
    if (!this.healthy) throw this.unavailable()
    try {
      const r = await unary<SizeResponse>(this.channel.runtime, "predictModelSize", this.modelRequest(path, target), 5000)
      if (r.sizeInBytes > 0) return r.sizeInBytes
    } catch (e) {
      // Optional in the SPI: UNIMPLEMENTED (or any answer) falls back to the runtime's default size.
      if (isUnreachable(e)) throw this.callFailed("predictModelSize", e)
    }
    return this.status.defaultModelSizeInBytes > 0 ? this.status.defaultModelSizeInBytes : 1
  }

  async load(path: string, modelId: string, target?: LoadTarget): Promise<LoadedModel> {
    if (!this.healthy) throw this.unavailable()
    const release = await this.loads.acquire()
    const generation = this.generation
    let res: LoadModelResponse
    try {
      if (!this.healthy) throw this.unavailable()
      res = await unary<LoadModelResponse>(this.channel.runtime, "loadModel", this.modelRequest(path, target, modelId), this.status.modelLoadingTimeoutMs)
    } catch (e) {
      if (isServiceError(e) && e.code === grpc.status.DEADLINE_EXCEEDED) {
        // The SPI: a cancelled load is followed by an unload, so nothing stays loaded there.
        void this.unloadOnRuntime(modelId)
        throw new RuntimeError({ kind: "load", message: `${this.where}: loadModel did not finish within the runtime's modelLoadingTimeoutMs (${this.status.modelLoadingTimeoutMs} ms)` })
      }
      throw e instanceof RuntimeError ? e : this.callFailed("loadModel", e)
    } finally {
      release()
    }
    if (generation !== this.generation) {
      // Lost while loading: whatever it loaded is unloaded when it is back.
      this.orphans.add(modelId)
      throw this.unavailable()
    }
    try {
      let size = res.sizeInBytes
      if (!(size > 0)) size = (await unary<SizeResponse>(this.channel.runtime, "modelSize", { modelId }, 10_000)).sizeInBytes
      const meta = await unary<{ inputs?: []; outputs?: [] }>(this.channel.inference, "ModelMetadata", { name: modelId }, 10_000, this.idMetadata(modelId))
      const maxConcurrency = this.status.limitModelConcurrency && res.maxConcurrency > 0 ? res.maxConcurrency : undefined
      if (generation === this.generation) this.resident.add(modelId)
      return new RemoteModel(this, modelId, generation, size > 0 ? size : 1, tensorMetaOf(meta.inputs), tensorMetaOf(meta.outputs), maxConcurrency)
    } catch (e) {
      void this.unloadOnRuntime(modelId)
      throw this.callFailed("sizing or reading the metadata of the loaded model", e)
    }
  }

  private modelRequest(path: string, target: LoadTarget | undefined, modelId = target?.id ?? "") {
    return { modelId, modelType: target?.format ?? this.formats[0]!, modelPath: path, modelKey: target?.key ?? "" }
  }

  idMetadata(modelId: string): grpc.Metadata {
    const m = new grpc.Metadata()
    m.set("mm-model-id", modelId)
    return m
  }

  /** unloadModel; a runtime that is gone has nothing loaded any more. */
  async unloadOnRuntime(modelId: string, generation = this.generation): Promise<void> {
    if (generation !== this.generation || !this.healthy) return
    this.resident.delete(modelId)
    try {
      await unary(this.channel.runtime, "unloadModel", { modelId }, 30_000)
    } catch (e) {
      if (isUnreachable(e)) {
        this.lost(grpcText(e))
        return
      }
      throw new RuntimeError({ kind: "load", message: `${this.where}: unloadModel ${modelId} failed: ${grpcText(e)}` })
    }
  }

  async infer(modelId: string, generation: number, inputs: ReadonlyArray<Tensor>, outputNames?: ReadonlyArray<string>): Promise<Tensor[]> {
    if (generation !== this.generation || !this.healthy) throw this.unavailable()
    let res: GrpcModelInferResponse
    try {
      res = await unary<GrpcModelInferResponse>(this.channel.inference, "ModelInfer", inferRequestOf(modelId, inputs, outputNames), 0, this.idMetadata(modelId))
    } catch (e) {
      if (isUnreachable(e)) {
        this.lost(grpcText(e))
        throw this.unavailable()
      }
      const input = isServiceError(e) && e.code === grpc.status.INVALID_ARGUMENT
      throw new RuntimeError({ kind: input ? "input" : "infer", message: `${this.where}: ${grpcText(e)}` })
    }
    try {
      return outputsOf(res)
    } catch (e) {
      throw new RuntimeError({ kind: "infer", message: `${this.where} answered with outputs that cannot be read: ${e instanceof Error ? e.message : String(e)}` })
    }
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    this.channel.close()
  }
}

class RemoteModel implements LoadedModel {
  private unloaded = false
  constructor(
    private readonly runtime: RemoteRuntime,
    private readonly id: string,
    private readonly generation: number,
    readonly sizeBytes: number,
    readonly inputs: ReadonlyArray<TensorMeta>,
    readonly outputs: ReadonlyArray<TensorMeta>,
    readonly maxConcurrency: number | undefined
  ) {}
  infer(inputs: ReadonlyArray<Tensor>, outputNames?: ReadonlyArray<string>): Promise<Tensor[]> {
    return this.runtime.infer(this.id, this.generation, inputs, outputNames)
  }
  async unload(): Promise<void> {
    if (this.unloaded) return
    this.unloaded = true
    await this.runtime.unloadOnRuntime(this.id, this.generation)
  }
}

/** Connect to the runtime and wait until it is READY (the server does not start without it). */
export const makeRemoteRuntime = async (spec: RemoteRuntimeSpec, log: Log): Promise<RemoteRuntime> => {
  const channel = openChannel(spec.address)
  const rt = new RemoteRuntime(spec, channel, log)
  try {
    await rt.start()
  } catch (e) {
    await rt.close()
    throw e
  }
  return rt
}

/** a health check's deadline, and how many slow answers in a row mean the runtime is lost */
const HEALTH_DEADLINE_MS = 2000
const SLOW_CHECKS_TO_LOSE = 3

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
