import { findPolicy, type PolicyChoice } from "@meshkit/core"
import type { RunOutput } from "../metrics/result.js"
import { materialize } from "../trace/materialize.js"
import { RecordedNextAccessError } from "../trace/errors.js"
import type { Trace } from "../trace/types.js"
import { arrayTrace } from "./array-trace.js"
import { runFull } from "./cluster.js"
import type { SimConfig } from "./config.js"
import { runIdeal } from "./ideal.js"
import { nextUseTimes } from "./next-use.js"

export const isOfflineChoice = (choice: PolicyChoice | string): boolean =>
  findPolicy("eviction", typeof choice === "string" ? choice : choice.name)?.offline === true

/**
 * Replay `trace` under `cfg`. Online policies stream the trace (memory bounded by the number of
 * models); offline ones (belady) materialise it first to compute each request's next use, then
 * replay the arrays (memory ≈ 28 bytes per request) — except in ideal mode on a trace that
 * records next accesses (oracleGeneral), which streams too. Full mode still materialises: its
 * offline scores (size × time to next use) need next uses on the event clock, in ms.
 */
export const simulate = async (
  trace: Trace,
  cfg: SimConfig,
  opts: { readonly onProgress?: (requests: number) => void } = {}
): Promise<RunOutput> => {
  const run = cfg.mode === "ideal" ? runIdeal : runFull
  if (!isOfflineChoice(cfg.eviction)) return run(trace, cfg, opts)
  if (cfg.mode === "ideal" && trace.recordsNextAccess === true) {
    const streamed = await runIdeal(trace, cfg, { ...opts, recordedNextAccess: true }).catch((e: unknown) => {
      if (e instanceof RecordedNextAccessError) return e
      throw e
    })
    if (!(streamed instanceof RecordedNextAccessError)) return streamed
    process.emitWarning(`${streamed.message}; computing next uses from the requests instead`)
  }
  const m = await materialize(trace)
  const nextUse = nextUseTimes(m.timeMs, m.model, trace.models.ids.length)
  return run(arrayTrace(trace.name, trace.models, m.timeMs, m.model, m.execMs), cfg, { ...opts, nextUse })
}
