import type { ModelTable, Trace, TraceChunk } from "../trace/types.js"

const CHUNK = 1 << 16

/**
 * A Trace over requests already in memory (a materialised trace, a benchmark's pre-built stream,
 * a test's hand-written requests), replayed in chunks so progress reports keep flowing.
 */
export const arrayTrace = (
  name: string,
  models: ModelTable,
  timeMs: Float64Array,
  model: Int32Array,
  execMs: Float64Array = new Float64Array(timeMs.length).fill(NaN)
): Trace => ({
  name,
  models,
  async *chunks(): AsyncGenerator<TraceChunk> {
    for (let i = 0; i < timeMs.length; i += CHUNK) {
      const j = Math.min(timeMs.length, i + CHUNK)
      yield { length: j - i, timeMs: timeMs.subarray(i, j), model: model.subarray(i, j), execMs: execMs.subarray(i, j) }
    }
  }
})

/** Requests written as [timeMs, modelId] (+ optional exec ms), models as id → size / tenant. */
export const tinyTrace = (
  models: ReadonlyArray<{ readonly id: string; readonly size: number; readonly tenant?: string }>,
  requests: ReadonlyArray<readonly [number, string] | readonly [number, string, number]>
): Trace => {
  const table: ModelTable = {
    ids: models.map((m) => m.id),
    tenants: models.map((m) => m.tenant ?? "default"),
    sizes: models.map((m) => m.size)
  }
  const index = new Map(table.ids.map((id, i) => [id, i]))
  const timeMs = Float64Array.from(requests, (r) => r[0])
  const model = Int32Array.from(requests, (r) => {
    const i = index.get(r[1])
    if (i === undefined) throw new Error(`tinyTrace: unknown model ${r[1]}`)
    return i
  })
  const execMs = Float64Array.from(requests, (r) => (r.length > 2 ? r[2]! : NaN))
  return arrayTrace("tiny", table, timeMs, model, execMs)
}
