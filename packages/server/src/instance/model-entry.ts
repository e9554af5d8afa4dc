import type { Resident } from "@meshkit/core"
import type { ModelRecord } from "../registry/registry.js"
import type { LoadedModel, TensorMeta } from "../runtimes/runtime.js"
import type { FailureMemory } from "./failure-memory.js"

/**
 * One model of this instance and its phase machine:
 *
 *   idle ──ensureLoaded──▶ loading ──ok──▶ loaded ──evict / expire / unload──▶ unloading ──▶ idle
 *                             └──failed (remembered for --failure-memory)──▶ idle
 *
 * Requests are served only in `loaded`; `unloading` waits for the requests in flight.
 */
export type ModelStatus = "NOT_LOADED" | "LOADING" | "LOADED" | "LOADING_FAILED"

export interface ModelStatusInfo {
  readonly id: string
  readonly status: ModelStatus
  readonly format: string
  readonly uri: string
  readonly source: ModelRecord["source"]
  readonly tenant: string
  readonly labels: Readonly<Record<string, string>>
  readonly pinned: boolean
  readonly minCopies: number
  /** measured size when loaded, else the prediction (0 before the first prediction) */
  readonly sizeBytes: number
  readonly predictedSizeBytes: number | null
  /** epoch ms of the last request, null if never used */
  readonly lastUsed: number | null
  readonly loadedAt: number | null
  readonly inFlight: number
  readonly queued: number
  readonly loads: number
  readonly lastLoadMs: number | null
  readonly errors: ReadonlyArray<string>
  /** epoch ms after which a failed load will be retried */
  readonly retryAt: number | null
}

export interface ModelIo {
  readonly inputs: ReadonlyArray<TensorMeta>
  readonly outputs: ReadonlyArray<TensorMeta>
}

export type Phase = "idle" | "loading" | "loaded" | "unloading"

/** One managed model. Exposed (read-only by convention) so the data plane can keep a reference. */
export class ModelEntry {
  phase: Phase = "idle"
  loaded: LoadedModel | undefined = undefined
  resident: Resident | undefined = undefined
  loading: Promise<void> | undefined = undefined
  unloading: Promise<void> | undefined = undefined
  /** called when the last in-flight request finishes, for a drain-then-unload */
  afterDrain: (() => void) | undefined = undefined
  io: ModelIo | undefined = undefined
  inFlight = 0
  /** requests admitted at once: --model-concurrency, or less when the runtime says (set at load) */
  concurrency = Number.MAX_SAFE_INTEGER
  readonly slotWaiters: Array<(granted: boolean) => void> = []
  loadWaiters = 0
  lastUsed = 0
  loadedAt = 0
  predictedBytes = 0
  loads = 0
  lastLoadMs = 0
  /**
   * The cache's admission of this load already counted as a use: the request that caused the
   * load must not count again when it gets its slot.
   */
  useCountedAtAdmission = false
  /**
   * A request's arrival started this load (before its body was read): that request is a miss
   * even if the load is done by the time it asks for a slot.
   */
  missOnArrival = false
  removed = false
  constructor(public record: ModelRecord) {}
  get id(): string {
    return this.record.id
  }
}

/** The status the control plane and the repository index report. */
export const statusOf = (e: ModelEntry, failures: FailureMemory, now: number): ModelStatusInfo => {
    const active = failures.active(e.id, now)
    const last = failures.last(e.id)
    const status: ModelStatus =
      e.phase === "loaded" ? "LOADED" : e.phase === "loading" ? "LOADING" : active ? "LOADING_FAILED" : "NOT_LOADED"
    const r = e.record
    return {
      id: e.id,
      status,
      format: r.format,
      uri: r.uri,
      source: r.source,
      tenant: r.tenant,
      labels: r.labels,
      pinned: r.pinned,
      minCopies: r.minCopies,
      sizeBytes: e.resident?.size ?? (e.phase === "loaded" && e.loaded ? e.loaded.sizeBytes : e.predictedBytes),
      predictedSizeBytes: e.predictedBytes || null,
      lastUsed: e.lastUsed || null,
      loadedAt: e.phase === "loaded" ? e.loadedAt : null,
      inFlight: e.inFlight,
      queued: e.slotWaiters.length + e.loadWaiters,
      loads: e.loads,
      lastLoadMs: e.lastLoadMs ? round(e.lastLoadMs) : null,
      errors: last ? [last.error.message] : [],
      retryAt: active ? active.until : null
    }
  }


const round = (ms: number) => Math.round(ms * 10) / 10
