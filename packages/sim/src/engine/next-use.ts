/**
 * Offline policies (belady) need, at each request, when its model is requested next. One
 * backward pass over the materialised trace: memory is O(requests), which is why only offline
 * policies materialise the trace; online policies stream it.
 */
export const nextUseTimes = (timeMs: Float64Array, model: Int32Array, modelCount: number): Float64Array => {
  const n = timeMs.length
  const out = new Float64Array(n)
  const seen = new Float64Array(modelCount).fill(Infinity)
  for (let i = n - 1; i >= 0; i--) {
    const m = model[i]!
    out[i] = seen[m]!
    seen[m] = timeMs[i]!
  }
  return out
}
