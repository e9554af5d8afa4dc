/**
 * What one copy-map entry of a model stands for, as `GET /v1/models/{id}` reports it. The copy
 * map lists a superset of the copies (an evicted or unloaded copy's entry lingers until its
 * instance drops it: the copy-map sweep, a "not here" refusal), so the entry alone says nothing
 * about the copy; the instance's published record does:
 *
 *   LOADED      the record lists the model among its loaded models
 *   LOADING     the record lists it as loading, or the entry is newer than the record (a claim
 *               written since that instance last published: its load is about to start)
 *   NOT_LOADED  the record was published after the claim and lists the model neither way: a
 *               stale entry (the copy was evicted or unloaded, or its load failed), not a load
 *   UNKNOWN     no record: the instance is gone (the leader prunes its entries after a grace)
 *
 * The entry's time and the record's publish time both come from the same instance's clock
 * (an instance only ever claims for itself), so comparing them is sound across machines.
 */
import type { InstanceRecord } from "./records.js"

export type CopyStatus = "LOADED" | "LOADING" | "NOT_LOADED" | "UNKNOWN"

export const copyStatus = (
  modelId: string,
  since: number,
  r: Pick<InstanceRecord, "models" | "loadingModels" | "publishedAt"> | undefined,
  /** this instance is writing or has just written a claim for the model (its own entry only) */
  claimUnderway = false
): CopyStatus => {
  if (r === undefined) return "UNKNOWN"
  if (r.models.includes(modelId)) return "LOADED"
  if (r.loadingModels.includes(modelId) || claimUnderway || r.publishedAt < since) return "LOADING"
  return "NOT_LOADED"
}
