import { Either, ParseResult, Schema } from "effect"
import { Conflict, ModelNotFound } from "../errors.js"
import { JsonFileStore } from "./file-store.js"
import { ModelRecordSchema } from "./record-schema.js"
import type { ModelRecord, RegistryStore, VModelRecord } from "./registry.js"

/** registry.json */
const StoredRegistry = Schema.Struct({
  version: Schema.Literal(1),
  models: Schema.Array(ModelRecordSchema),
  vmodels: Schema.Array(Schema.Struct({ id: Schema.String, active: Schema.String, target: Schema.String }))
})
type StoredRegistry = typeof StoredRegistry.Type

/**
 * The single-server registry: Maps in memory, written whole to registry.json (atomically, see
 * ./file-store.ts) after every change to an API model or a vmodel. Directory models and a
 * transition's failure are kept in memory only (the directory is rescanned, a failed transition
 * is retried by the next set).
 */
export class FileRegistryStore implements RegistryStore {
  private readonly modelMap = new Map<string, ModelRecord>()
  private readonly vmodelMap = new Map<string, VModelRecord>()

  private constructor(private readonly file: JsonFileStore<StoredRegistry>) {}

  static async open(path: string): Promise<FileRegistryStore> {
    const file = new JsonFileStore<StoredRegistry>(path)
    const store = new FileRegistryStore(file)
    // A process killed mid-write leaves its temporary file: the document itself is whole.
    await file.removeLeftovers()
    const raw = await file.read()
    if (raw !== undefined) {
      const decoded = Schema.decodeUnknownEither(StoredRegistry)(raw)
      if (Either.isLeft(decoded)) {
        throw new Error(`${path} is not a meshkit registry: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`)
      }
      for (const m of decoded.right.models) store.modelMap.set(m.id, m)
      for (const v of decoded.right.vmodels) store.vmodelMap.set(v.id, { id: v.id, active: v.active, target: v.target })
    }
    return store
  }

  get size(): number {
    return this.modelMap.size
  }
  model(id: string): ModelRecord | undefined {
    return this.modelMap.get(id)
  }
  models(): IterableIterator<ModelRecord> {
    return this.modelMap.values()
  }
  vmodel(id: string): VModelRecord | undefined {
    return this.vmodelMap.get(id)
  }
  vmodels(): IterableIterator<VModelRecord> {
    return this.vmodelMap.values()
  }

  addDirectoryModel(r: ModelRecord): Promise<void> {
    const existing = this.modelMap.get(r.id)
    if (existing && existing.source === "api") {
      throw new Conflict({ message: `model "${r.id}" in the models directory clashes with a model registered through the API` })
    }
    this.modelMap.set(r.id, r)
    return Promise.resolve()
  }

  async addModel(r: ModelRecord): Promise<void> {
    if (this.modelMap.has(r.id)) throw new Conflict({ message: `model "${r.id}" is already registered` })
    if (this.vmodelMap.has(r.id)) throw new Conflict({ message: `"${r.id}" is already a vmodel` })
    this.modelMap.set(r.id, r)
    try {
      await this.persist()
    } catch (e) {
      this.modelMap.delete(r.id)
      throw e
    }
  }

  async removeModel(id: string): Promise<ModelRecord> {
    const r = this.modelMap.get(id)
    if (!r) throw new ModelNotFound({ message: `model "${id}" is not registered` })
    const users = [...this.vmodelMap.values()].filter((v) => v.active === id || v.target === id).map((v) => v.id)
    if (users.length > 0) throw new Conflict({ message: `model "${id}" is used by vmodel(s) ${users.join(", ")}; delete or retarget them first` })
    this.modelMap.delete(id)
    await this.persist()
    return r
  }

  async setVModelTarget(id: string, target: string): Promise<VModelRecord> {
    if (this.modelMap.has(id)) throw new Conflict({ message: `"${id}" is already a model id` })
    if (!this.modelMap.has(target)) throw new ModelNotFound({ message: `target model "${target}" is not registered` })
    const before = this.vmodelMap.get(id)
    if (before && before.target === target && before.targetFailed === undefined) return before
    const after: VModelRecord = { id, active: before?.active ?? target, target }
    this.vmodelMap.set(id, after)
    await this.persist()
    return after
  }

  async completeTransition(id: string, target: string): Promise<VModelRecord | undefined> {
    const before = this.vmodelMap.get(id)
    if (!before || before.target !== target || before.active === target) return before
    const after: VModelRecord = { id, active: target, target }
    this.vmodelMap.set(id, after)
    await this.persist()
    return after
  }

  markTransitionFailed(id: string, target: string, message: string): Promise<void> {
    const v = this.vmodelMap.get(id)
    if (v && v.target === target && v.active !== target) this.vmodelMap.set(id, { ...v, targetFailed: message })
    return Promise.resolve()
  }

  async removeVModel(id: string): Promise<void> {
    if (!this.vmodelMap.delete(id)) throw new ModelNotFound({ message: `vmodel "${id}" does not exist` })
    await this.persist()
  }

  private persist(): Promise<void> {
    return this.file.write({
      version: 1,
      models: [...this.modelMap.values()].filter((m) => m.source === "api"),
      vmodels: [...this.vmodelMap.values()].map((v) => ({ id: v.id, active: v.active, target: v.target }))
    })
  }
}
