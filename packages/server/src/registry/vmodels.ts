import { Effect, Layer, Schema } from "effect"
import { BadRequest, messageOf, ModelNotFound } from "../errors.js"
import { Config } from "../config/config.js"
import type { ModelEntry } from "../instance/model-entry.js"
import { ModelManager } from "../instance/model-manager.js"
import { Log } from "../observability/log.js"
import { ModelIdSchema, ModelRegistry, type VModelRecord } from "./registry.js"
import { ServiceTag } from "../service-tag.js"

const isValidId = Schema.is(ModelIdSchema)

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
  constructor(
    private readonly registry: ModelRegistry,
    private readonly manager: ModelManager,
    private readonly log: Log
  ) {
    super()
  }

  /** How a transition's target gets loaded: here, on one server (see loadTargetsWith). */
  private loadTarget = (e: ModelEntry): Promise<void> => this.manager.ensureLoaded(e, false)

  /**
   * Cluster mode (set by the node): a target is loaded through a copy claim, or counts as
   * loaded once a copy elsewhere is, rather than loaded here beside its maxCopies.
   */
  loadTargetsWith(load: (e: ModelEntry) => Promise<void>): void {
    this.loadTarget = load
  }

  /** The model a vmodel name currently routes to, or undefined when `id` is not a vmodel. */
  resolve(id: string): string | undefined {
    return this.registry.vmodel(id)?.active
  }

  /**
   * Point `id` at `target`. A new alias starts on its target; an existing one switches once
   * `target` is loaded. The registry writes the change (and, in cluster mode, the refcounts it
   * moves) as one operation; the answer is the written record, not a possibly lagging copy.
   */
  async set(id: string, target: string, opts: { readonly sync?: boolean } = {}): Promise<VModelStatus> {
    // A vmodel name is addressed where model names are (URLs, gRPC, the registry file): same rule.
    if (!isValidId(id)) throw new BadRequest({ message: "vmodel ids are 1-200 characters: letters, digits, '.', '_', '-' (not starting with '.', '_' or '-')" })
    const existed = this.registry.vmodel(id) !== undefined
    const v = await this.registry.setVModelTarget(id, target)
    if (!existed && v.active === target) this.log.info("vmodel created", { vmodel: id, target })
    if (v.active !== target) {
      const t = this.transition(id, target)
      if (opts.sync) return statusOf(await t ?? v)
    }
    return statusOf(v)
  }

  remove(id: string): Promise<void> {
    return this.registry.removeVModel(id)
  }

  status(id: string): VModelStatus {
    const v = this.registry.vmodel(id)
    if (!v) throw new ModelNotFound({ message: `vmodel "${id}" does not exist` })
    return statusOf(v)
  }

  list(): VModelStatus[] {
    return [...this.registry.allVModels()].map(statusOf)
  }

  /** After a restart: finish transitions that were under way. */
  resume(): void {
    for (const v of [...this.registry.allVModels()]) if (v.active !== v.target) void this.transition(v.id, v.target)
  }

  /** Load `target` here, then switch the alias to it (the registry switches only if it is still the target). */
  private async transition(id: string, target: string): Promise<VModelRecord | undefined> {
    const entry = this.manager.lookup(target)
    const fail = async (message: string): Promise<VModelRecord | undefined> => {
      try {
        await this.registry.markTransitionFailed(id, target, message)
      } catch (err) {
        this.log.error("cannot record a failed vmodel transition", { vmodel: id, to: target, error: messageOf(err) })
      }
      return this.registry.vmodel(id)
    }
    if (!entry) return fail(`target model "${target}" is not registered`)
    this.log.info("vmodel transition started", { vmodel: id, to: target })
    try {
      await this.loadTarget(entry)
    } catch (err) {
      if (this.registry.vmodel(id)?.target === target) this.log.warn("vmodel transition failed", { vmodel: id, to: target, error: messageOf(err) })
      return fail(messageOf(err))
    }
    try {
      const v = await this.registry.completeTransition(id, target)
      if (v?.active === target) this.log.info("vmodel switched", { vmodel: id, active: target })
      return v
    } catch (err) {
      this.log.error("cannot write the vmodel switch", { vmodel: id, to: target, error: messageOf(err) })
      return this.registry.vmodel(id)
    }
  }
}

const statusOf = (v: VModelRecord): VModelStatus => {
  const base = { id: v.id, activeModelId: v.active, targetModelId: v.target }
  if (v.active === v.target) return { ...base, status: "DEFAULT" }
  return v.targetFailed !== undefined ? { ...base, status: "TRANSITION_FAILED", error: v.targetFailed } : { ...base, status: "TRANSITIONING" }
}

/** The vmodels over the registry and this instance's models; transitions under way at the last stop resume. */
export const VModelsLive = Layer.effect(
  VModels,
  Effect.gen(function* () {
    const v = new VModels(yield* ModelRegistry, yield* ModelManager, yield* Log)
    // cluster mode resumes them once the node has joined (node.ts): no load can claim before
    if ((yield* Config).etcd === undefined) v.resume()
    return v
  })
)
