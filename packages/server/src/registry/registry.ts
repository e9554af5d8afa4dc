import { Schema } from "effect"
import { Duration } from "../config/text-schemas.js"
import { type BatchingSettings } from "./record-schema.js"
import { FileRegistryStore } from "./file-registry-store.js"
import { ServiceTag } from "../service-tag.js"
import { Warmup } from "./warmup-schema.js"
export { ModelRecordSchema, type BatchingSettings } from "./record-schema.js"

/** The batching settings a registration or metadata file gave, if any. */
export const batchingOf = (m: { maxBatchSize?: number; maxBatchDelay?: number; preferredBatchSizes?: ReadonlyArray<number> } | undefined): BatchingSettings | undefined =>
  m === undefined || (m.maxBatchSize === undefined && m.maxBatchDelay === undefined && m.preferredBatchSizes === undefined)
    ? undefined
    : {
        ...(m.maxBatchSize !== undefined ? { maxBatchSize: m.maxBatchSize } : {}),
        ...(m.maxBatchDelay !== undefined ? { maxBatchDelayMs: m.maxBatchDelay } : {}),
        ...(m.preferredBatchSizes !== undefined ? { preferredBatchSizes: [...m.preferredBatchSizes] } : {})
      }

/** Model names travel in URLs and metric labels: keep them to a safe alphabet. */
export const ModelIdSchema = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, {
    message: () => "model ids are 1-200 characters: letters, digits, '.', '_', '-' (not starting with '.', '_' or '-')"
  })
)

const Labels = Schema.Record({ key: Schema.String, value: Schema.String })

/**
 * Dynamic batching of one model (overrides the server's --max-batch-size / --max-batch-delay):
 * merge up to maxBatchSize rows of concurrent requests into one run, waiting at most
 * maxBatchDelay for company; preferredBatchSizes start a run as soon as one is reached.
 */
const BatchSize = Schema.Int.pipe(Schema.between(1, 1_000_000))
export const BatchingFields = {
  maxBatchSize: Schema.optional(BatchSize),
  maxBatchDelay: Schema.optional(Duration),
  preferredBatchSizes: Schema.optional(Schema.Array(BatchSize))
}
const Sha256 = Schema.String.pipe(Schema.pattern(/^[0-9a-fA-F]{64}$/, { message: () => "sha256 must be 64 hex digits" }))

/** Optional settings beside a model file (`<name>.json`, `<name>/meta.json`) or in a registration. */
export const ModelMetadata = Schema.Struct({
  tenant: Schema.optional(Schema.String),
  labels: Schema.optional(Labels),
  pinned: Schema.optional(Schema.Boolean),
  minCopies: Schema.optional(Schema.Int.pipe(Schema.between(0, 1000))),
  maxCopies: Schema.optional(Schema.Int.pipe(Schema.between(1, 1000))),
  format: Schema.optional(Schema.String),
  ...BatchingFields,
  /** sample requests run after a load, before READY (./warmup-schema.ts) */
  warmup: Schema.optional(Warmup)
})
export type ModelMetadata = typeof ModelMetadata.Type

/** The control plane's register call (ModelMesh registerModel, flattened). */
export const RegisterRequest = Schema.Struct({
  id: ModelIdSchema,
  uri: Schema.String.pipe(Schema.minLength(1, { message: () => "uri must not be empty" })),
  format: Schema.optional(Schema.String),
  tenant: Schema.optional(Schema.String),
  labels: Schema.optional(Labels),
  pinned: Schema.optional(Schema.Boolean),
  minCopies: Schema.optional(Schema.Int.pipe(Schema.between(0, 1000))),
  maxCopies: Schema.optional(Schema.Int.pipe(Schema.between(1, 1000))),
  /** load it right away instead of on its first request */
  loadNow: Schema.optional(Schema.Boolean),
  /** wait for the load before answering (with loadNow) */
  sync: Schema.optional(Schema.Boolean),
  /** URL sources: expected checksum and size, verified after download */
  sha256: Schema.optional(Sha256),
  sizeBytes: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  ...BatchingFields,
  warmup: Schema.optional(Warmup)
})
export type RegisterRequest = typeof RegisterRequest.Type

/** A registered model. `path` is the local file the runtime loads (the download cache for URLs). */
export interface ModelRecord {
  readonly id: string
  readonly format: string
  readonly uri: string
  readonly path: string
  readonly source: "dir" | "api"
  readonly tenant: string
  readonly labels: Readonly<Record<string, string>>
  readonly pinned: boolean
  readonly minCopies: number
  readonly maxCopies: number
  readonly sha256?: string
  readonly sizeBytes?: number
  /** per-model dynamic batching; absent = the server's defaults */
  readonly batching?: BatchingSettings
  /** run after each load, before the model is READY */
  readonly warmup?: Warmup
  readonly registeredAt: number
}

/** An alias that moves to `target` only once `target` is loaded (ModelMesh vmodels). */
export interface VModelRecord {
  readonly id: string
  readonly active: string
  readonly target: string
  /** why loading `target` failed (TRANSITION_FAILED); cleared by a new target */
  readonly targetFailed?: string
}

/**
 * Where registrations live: a JSON file on one server (./file-registry-store.ts), the shared
 * etcd registry in cluster mode (../cluster/registry-bridge.ts). Reads are synchronous (memory,
 * or the cluster's watched local copy); writes resolve once durable and are whole operations —
 * a record is never mutated in place, so the cluster store can make each one a compare-and-set.
 */
export interface RegistryStore {
  readonly size: number
  model(id: string): ModelRecord | undefined
  models(): IterableIterator<ModelRecord>
  vmodel(id: string): VModelRecord | undefined
  vmodels(): IterableIterator<VModelRecord>
  /** a model registered through the API; Conflict when the id is taken */
  addModel(r: ModelRecord): Promise<void>
  /**
   * A model found in --models DIR: idempotent (the same model again is fine), Conflict when an
   * API model holds the id. The file store applies it at once and throws at once.
   */
  addDirectoryModel(r: ModelRecord): Promise<void>
  /** ModelNotFound when unknown, Conflict while a vmodel points at it */
  removeModel(id: string): Promise<ModelRecord>
  /** point `id` at `target`: a new vmodel starts on it, an existing one keeps `active` until completeTransition */
  setVModelTarget(id: string, target: string): Promise<VModelRecord>
  /** `target` is loaded: make it active, only if it is still the target */
  completeTransition(id: string, target: string): Promise<VModelRecord | undefined>
  /** loading `target` failed: keep `active`, remember why (only if it is still the target) */
  markTransitionFailed(id: string, target: string, message: string): Promise<void>
  removeVModel(id: string): Promise<void>
}

/**
 * The model registry: every model the server manages, and the vmodel aliases, over a
 * RegistryStore. On one server (`open`) models registered through the API and all vmodels are
 * persisted (registry.json in the data dir) before a call returns, so a restart loses none;
 * models found in --models DIR are re-scanned at start. In cluster mode (`over` the shared
 * store) every instance reads and writes the same registry in etcd.
 * Its own service tag: `yield* ModelRegistry` in Effect code.
 */
export class ModelRegistry extends ServiceTag("meshkit/server/Registry")<ModelRegistry>() {
  private constructor(private readonly store: RegistryStore) {
    super()
  }

  /** The single-server registry kept in the JSON file at `path`. */
  static async open(path: string): Promise<ModelRegistry> {
    return new ModelRegistry(await FileRegistryStore.open(path))
  }

  /** A registry over any store (cluster mode: the shared etcd registry). */
  static over(store: RegistryStore): ModelRegistry {
    return new ModelRegistry(store)
  }

  get size(): number {
    return this.store.size
  }
  get(id: string): ModelRecord | undefined {
    return this.store.model(id)
  }
  all(): IterableIterator<ModelRecord> {
    return this.store.models()
  }
  vmodel(id: string): VModelRecord | undefined {
    return this.store.vmodel(id)
  }
  allVModels(): IterableIterator<VModelRecord> {
    return this.store.vmodels()
  }

  /**
   * A model from the models directory (the directory is its source of truth: not persisted in
   * file mode; registered idempotently by every instance in cluster mode). Not `async` on
   * purpose: the file store applies it, or throws its Conflict, before returning.
   */
  addFromDirectory(r: ModelRecord): Promise<void> {
    return this.store.addDirectoryModel(r)
  }

  add(r: ModelRecord): Promise<void> {
    return this.store.addModel(r)
  }

  remove(id: string): Promise<ModelRecord> {
    return this.store.removeModel(id)
  }

  /** Create or replace a vmodel as given (a switch to `active` counts only once it is the target too). */
  async setVModel(v: VModelRecord): Promise<void> {
    await this.store.setVModelTarget(v.id, v.target)
    if (v.active === v.target) await this.store.completeTransition(v.id, v.target)
  }

  setVModelTarget(id: string, target: string): Promise<VModelRecord> {
    return this.store.setVModelTarget(id, target)
  }
  completeTransition(id: string, target: string): Promise<VModelRecord | undefined> {
    return this.store.completeTransition(id, target)
  }
  markTransitionFailed(id: string, target: string, message: string): Promise<void> {
    return this.store.markTransitionFailed(id, target, message)
  }
  removeVModel(id: string): Promise<void> {
    return this.store.removeVModel(id)
  }
}
