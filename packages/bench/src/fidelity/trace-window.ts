import type { LoadedScenario, Trace } from "@meshkit/sim"
import type { FidelityOptions } from "./types.js"

/** Step 1: the scenario's first `minutes` of trace, time-compressed into a replay schedule. */

export interface TraceWindow {
  readonly loaded: LoadedScenario
  readonly table: Trace["models"]
  /** trace time of each request, ms */
  readonly timeMs: Float64Array
  readonly model: Int32Array
  /** when the replay sends each request, ms from its start (trace time ÷ compression) */
  readonly atMs: Float64Array
  /** the models requested in the window, ascending */
  readonly used: ReadonlyArray<number>
}

export const loadWindow = async (o: FidelityOptions): Promise<TraceWindow> => {
  const sim = await import("@meshkit/sim")
  const loaded = await sim.loadScenario(o.scenarioFile, { sets: o.sets })
  const trace = sim.openTrace(loaded.source)
  const { timeMs, model } = await takeWindow(trace, o.minutes * 60_000)
  if (timeMs.length === 0) throw new Error(`${o.scenarioFile}: the trace has no requests in its first ${o.minutes} minutes`)
  const t0 = timeMs[0]!
  const atMs = Float64Array.from(timeMs, (t) => (t - t0) / o.compress)
  const used = [...new Set(model)].sort((a, b) => a - b)
  return { loaded, table: trace.models, timeMs, model, atMs, used }
}

const takeWindow = async (trace: { chunks(): AsyncIterable<{ length: number; timeMs: Float64Array; model: Int32Array }> }, endMs: number) => {
  const times: number[] = []
  const models: number[] = []
  let start = NaN
  outer: for await (const c of trace.chunks()) {
    for (let i = 0; i < c.length; i++) {
      const t = c.timeMs[i]!
      if (start !== start) start = t
      if (t - start >= endMs) break outer
      times.push(t)
      models.push(c.model[i]!)
    }
  }
  return { timeMs: Float64Array.from(times), model: Int32Array.from(models) }
}
