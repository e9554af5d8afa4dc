import type { InstanceView, ModelSpec } from "../domain.js"

/** What is being placed: a new copy of `model`, needing `sizeBytes`, with label constraints. */
export interface PlacementRequest {
  readonly model: ModelSpec
  readonly sizeBytes: number
  /** instance labels that must match (key = value) */
  readonly required?: Readonly<Record<string, string>>
  /** instance labels preferred when several instances qualify */
  readonly preferred?: Readonly<Record<string, string>>
}

/**
 * Chooses which instance loads a new copy of a model. Plain, synchronous, deterministic for its
 * seed. Instances that already hold the model (`hasModel`) or are shutting down are never chosen.
 * Returns undefined when no instance qualifies.
 */
export interface PlacementPolicy {
  readonly name: string
  choose(req: PlacementRequest, instances: readonly InstanceView[], now: number): InstanceView | undefined
}
