import type { Trace } from "./types.js"

export interface MaterializedTrace {
  readonly timeMs: Float64Array
  readonly model: Int32Array
  readonly execMs: Float64Array
}

/**
 * The whole trace in three arrays, for offline policies (belady needs each request's next use).
 * Memory is 20 bytes per request, unlike streaming, which is bounded by the number of models.
 */
export const materialize = async (trace: Trace): Promise<MaterializedTrace> => {
  let timeMs = new Float64Array(1 << 16)
  let model = new Int32Array(1 << 16)
  let execMs = new Float64Array(1 << 16)
  let n = 0
  for await (const chunk of trace.chunks()) {
    const len = chunk.length
    if (n + len > timeMs.length) {
      let cap = timeMs.length * 2
      while (cap < n + len) cap *= 2
      timeMs = grow(timeMs, new Float64Array(cap), n)
      model = grow(model, new Int32Array(cap), n)
      execMs = grow(execMs, new Float64Array(cap), n)
    }
    timeMs.set(chunk.timeMs.subarray(0, len), n)
    model.set(chunk.model.subarray(0, len), n)
    execMs.set(chunk.execMs.subarray(0, len), n)
    n += len
  }
  return { timeMs: timeMs.slice(0, n), model: model.slice(0, n), execMs: execMs.slice(0, n) }
}

const grow = <A extends Float64Array | Int32Array>(from: A, to: A, n: number): A => {
  to.set(from.subarray(0, n) as never)
  return to
}
