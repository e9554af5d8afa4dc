import { Effect, Layer } from "effect"
import { messageOf, ModelNotFound } from "../errors.js"
import { ModelManager } from "../instance/model-manager.js"
import { Log } from "../observability/log.js"
import { ModelRegistry, type VModelRecord } from "./registry.js"
import { ServiceTag } from "../service-tag.js"

/**
 * Virtual models (ModelMesh vmodels): a stable name that routes to an active model and moves
 * to a new target only once the target is loaded, so clients never wait on a cold switch.
 * While the target loads, requests keep going to the previous model; if its load fails, the
 * alias stays where it was and reports TRANSITION_FAILED. Its own service tag.
 */
export type VModelState = "DEFAULT" | "TRANSITIONING" | "TRANSITION_FAILED"

export interface VModelStatus {
  readonly id: string
  readonly activeModelId: string
  readonly targetModelId: string
  readonly status: VModelState
  readonly error?: string
}

export class VModels extends ServiceTag("meshkit/server/VModels")<VModels>() {
  private readonly failed = new Map<string, string>()

  constructor(
    private readonly registry: ModelRegistry,
    private readonly manager: ModelManager,
    private readonly log: Log
  ) {
    super()
  }

  /** The model a vmodel name currently routes to, or undefined when `id` is not a vmodel. */
  resolve(id: string): string | undefined {
    return this.registry.vmodel(id)?.active
  }

  /** Point `id` at `target`. A new alias starts on its target; an existing one switches once `target` is loaded. */
  async set(id: string, target: string, opts: { readonly sync?: boolean } = {}): Promise<VModelStatus> {
    if (!this.manager.lookup(target)) throw new ModelNotFound({ message: `target model "${target}" is not registered` })
    const existing = this.registry.vmodel(id)
    if (!existing) {
      await this.registry.setVModel({ id, active: target, target })
      this.failed.delete(id)
      this.log.info("vmodel created", { vmodel: id, target })
      return this.status(id)
    }
    if (existing.target !== target || existing.active !== target) {
      existing.target = target
      this.failed.delete(id)
      await this.registry.persist()
      const t = this.transition(existing, target)
      if (opts.sync) await t
    }
    return this.status(id)
  }

  async remove(id: string): Promise<void> {
    await this.registry.removeVModel(id)
    this.failed.delete(id)
  }

  status(id: string): VModelStatus {
    const v = this.registry.vmodel(id)
    if (!v) throw new ModelNotFound({ message: `vmodel "${id}" does not exist` })
    const error = this.failed.get(id)
    const status: VModelState = v.active === v.target ? "DEFAULT" : error !== undefined ? "TRANSITION_FAILED" : "TRANSITIONING"
    return error !== undefined && status === "TRANSITION_FAILED"
      ? { id, activeModelId: v.active, targetModelId: v.target, status, error }
      : { id, activeModelId: v.active, targetModelId: v.target, status }
  }

  list(): VModelStatus[] {
    return [...this.registry.allVModels()].map((v) => this.status(v.id))
  }

  /** After a restart: finish transitions that were under way. */
  resume(): void {
    for (const v of this.registry.allVModels()) if (v.active !== v.target) void this.transition(v, v.target)
  }

  private async transition(v: VModelRecord, target: string): Promise<void> {
    const entry = this.manager.lookup(target)
    if (!entry) {
      this.failed.set(v.id, `target model "${target}" is not registered`)
      return
    }
    this.log.info("vmodel transition started", { vmodel: v.id, from: v.active, to: target })
    try {
      await this.manager.ensureLoaded(entry, false)
    } catch (err) {
      if (v.target === target) {
        this.failed.set(v.id, messageOf(err))
        this.log.warn("vmodel transition failed", { vmodel: v.id, to: target, error: messageOf(err) })
      }
      return
    }
    // A newer set() may have moved the target meanwhile: only the latest target wins.
    if (v.target !== target || this.registry.vmodel(v.id) !== v) return
    v.active = target
    this.failed.delete(v.id)
    try {
      await this.registry.persist()
    } catch (err) {
      this.log.error("cannot persist vmodel switch", { vmodel: v.id, error: messageOf(err) })
    }
    this.log.info("vmodel switched", { vmodel: v.id, active: target })
  }
}

/** The vmodels over the registry and this instance's models; transitions under way at the last stop resume. */
export const VModelsLive = Layer.effect(
  VModels,
  Effect.gen(function* () {
    const v = new VModels(yield* ModelRegistry, yield* ModelManager, yield* Log)
    v.resume()
    return v
  })
)
