import type { ModelEntry, ModelManager } from "../instance/model-manager.js"
import { MODEL_VERSION } from "./server-state.js"

/** KServe's model repository extension index: READY, LOADING or UNAVAILABLE (with a reason). */
export interface RepositoryIndexEntry {
  readonly name: string
  readonly version: string
  readonly state: "READY" | "LOADING" | "UNAVAILABLE"
  readonly reason?: string
}

export const repositoryIndex = (manager: ModelManager, readyOnly: boolean, visible: (e: ModelEntry) => boolean = () => true): RepositoryIndexEntry[] => {
  const out: RepositoryIndexEntry[] = []
  for (const e of manager.all()) {
    if (!visible(e)) continue
    const s = manager.status(e)
    const state = s.status === "LOADED" ? "READY" : s.status === "LOADING" ? "LOADING" : "UNAVAILABLE"
    if (readyOnly && state !== "READY") continue
    const reason =
      s.status === "LOADING_FAILED" ? `load failed: ${s.errors[0]}`
      : s.status === "NOT_LOADED" ? (s.errors[0] ? `not loaded (last load failed: ${s.errors[0]})` : "not loaded")
      : undefined
    out.push(reason === undefined ? { name: e.id, version: MODEL_VERSION, state } : { name: e.id, version: MODEL_VERSION, state, reason })
  }
  return out
}
