import { Either, ParseResult, Schema } from "effect"
import { Conflict, ModelNotFound } from "../errors.js"
import { JsonFileStore } from "./file-store.js"
import { ServiceTag } from "../service-tag.js"

/** Model names travel in URLs and metric labels: keep them to a safe alphabet. */
export const ModelIdSchema = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, {
    message: () => "model ids are 1-200 characters: letters, digits, '.', '_', '-' (not starting with '.', '_' or '-')"
  })
)

const Labels = Schema.Record({ key: Schema.String, value: Schema.String })
const Sha256 = Schema.String.pipe(Schema.pattern(/^[0-9a-fA-F]{64}$/, { message: () => "sha256 must be 64 hex digits" }))

/** Optional settings beside a model file (`<name>.json`, `<name>/meta.json`) or in a registration. */
export const ModelMetadata = Schema.Struct({
  tenant: Schema.optional(Schema.String),
  labels: Schema.optional(Labels),
  pinned: Schema.optional(Schema.Boolean),
  minCopies: Schema.optional(Schema.Int.pipe(Schema.between(0, 1000))),
  maxCopies: Schema.optional(Schema.Int.pipe(Schema.between(1, 1000))),
  format: Schema.optional(Schema.String)
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
  sizeBytes: Schema.optional(Schema.Int.pipe(Schema.nonNegative()))
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
  readonly registeredAt: number
}

/** An alias that moves to `target` only once `target` is loaded (ModelMesh vmodels). */
export interface VModelRecord {
  readonly id: string
  active: string
  target: string
}

const ModelRecordSchema = Schema.Struct({
  id: Schema.String,
  format: Schema.String,
  uri: Schema.String,
  path: Schema.String,
  source: Schema.Literal("dir", "api"),
  tenant: Schema.String,
  labels: Labels,
  pinned: Schema.Boolean,
  minCopies: Schema.Number,
  maxCopies: Schema.Number,
  sha256: Schema.optional(Schema.String),
  sizeBytes: Schema.optional(Schema.Number),
  registeredAt: Schema.Number
})
const StoredRegistry = Schema.Struct({
  version: Schema.Literal(1),
  models: Schema.Array(ModelRecordSchema),
  vmodels: Schema.Array(Schema.Struct({ id: Schema.String, active: Schema.String, target: Schema.String }))
})
type StoredRegistry = typeof StoredRegistry.Type

/**
 * The model registry: every model the server manages, and the vmodel aliases. Models registered
 * through the API and all vmodels are persisted (registry.json in the data dir) before a call
 * returns, so a restart loses none; models found in --models DIR are re-scanned at start.
 * Its own service tag: `yield* ModelRegistry` in Effect code.
 */
export class ModelRegistry extends ServiceTag("meshkit/server/Registry")<ModelRegistry>() {
  private readonly models = new Map<string, ModelRecord>()
  private readonly vmodels = new Map<string, VModelRecord>()

  private constructor(private readonly store: JsonFileStore<StoredRegistry>) {
    super()
  }

  static async open(path: string): Promise<ModelRegistry> {
    const store = new JsonFileStore<StoredRegistry>(path)
    const reg = new ModelRegistry(store)
    const raw = await store.read()
    if (raw !== undefined) {
      const decoded = Schema.decodeUnknownEither(StoredRegistry)(raw)
      if (Either.isLeft(decoded)) {
        throw new Error(`${path} is not a meshkit registry: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`)
      }
      for (const m of decoded.right.models) reg.models.set(m.id, m)
      for (const v of decoded.right.vmodels) reg.vmodels.set(v.id, { ...v })
    }
    return reg
  }

  get size(): number {
    return this.models.size
  }
  get(id: string): ModelRecord | undefined {
    return this.models.get(id)
  }
  all(): IterableIterator<ModelRecord> {
    return this.models.values()
  }
  vmodel(id: string): VModelRecord | undefined {
    return this.vmodels.get(id)
  }
  allVModels(): IterableIterator<VModelRecord> {
    return this.vmodels.values()
  }

  /** Models from the models directory: not persisted (the directory is their source of truth). */
  addFromDirectory(r: ModelRecord): void {
    const existing = this.models.get(r.id)
    if (existing && existing.source === "api") {
      throw new Conflict({ message: `model "${r.id}" in the models directory clashes with a model registered through the API` })
    }
    this.models.set(r.id, r)
  }

  async add(r: ModelRecord): Promise<void> {
    if (this.models.has(r.id)) throw new Conflict({ message: `model "${r.id}" is already registered` })
    if (this.vmodels.has(r.id)) throw new Conflict({ message: `"${r.id}" is already a vmodel` })
    this.models.set(r.id, r)
    try {
      await this.persist()
    } catch (e) {
      this.models.delete(r.id)
      throw e
    }
  }

  async remove(id: string): Promise<ModelRecord> {
    const r = this.models.get(id)
    if (!r) throw new ModelNotFound({ message: `model "${id}" is not registered` })
    const users = [...this.vmodels.values()].filter((v) => v.active === id || v.target === id).map((v) => v.id)
    if (users.length > 0) throw new Conflict({ message: `model "${id}" is used by vmodel(s) ${users.join(", ")}; delete or retarget them first` })
    this.models.delete(id)
    await this.persist()
    return r
  }

  async setVModel(v: VModelRecord): Promise<void> {
    if (this.models.has(v.id)) throw new Conflict({ message: `"${v.id}" is already a model id` })
    this.vmodels.set(v.id, v)
    await this.persist()
  }

  async removeVModel(id: string): Promise<void> {
    if (!this.vmodels.delete(id)) throw new ModelNotFound({ message: `vmodel "${id}" does not exist` })
    await this.persist()
  }

  persist(): Promise<void> {
    return this.store.write({
      version: 1,
      models: [...this.models.values()].filter((m) => m.source === "api"),
      vmodels: [...this.vmodels.values()].map((v) => ({ id: v.id, active: v.active, target: v.target }))
    })
  }
}

