/**
 * A request trace as the simulator's hot loop consumes it: columnar chunks (typed arrays) of
 * requests sorted by time, with model ids interned to small integers. Chunks are streamed so a
 * trace of any length replays in memory bounded by the number of models.
 */
export interface TraceChunk {
  readonly length: number
  /** request arrival, ms from the start of the trace, non-decreasing across chunks */
  readonly timeMs: Float64Array
  /** index into ModelTable */
  readonly model: Int32Array
  /** execution time of this request in ms; NaN when the trace does not say (the cluster config decides) */
  readonly execMs: Float64Array
}

/** Every model seen so far, indexed by the integers in TraceChunk.model. Grows while streaming. */
export interface ModelTable {
  readonly ids: string[]
  readonly tenants: string[]
  readonly sizes: number[]
}

export interface Trace {
  /** a label for reports */
  readonly name: string
  readonly models: ModelTable
  /**
   * Streams the requests. Calling it again restarts from the beginning (the engine replays the
   * same trace once per policy / memory size). Models are added to `models` before the first
   * chunk that references them is yielded.
   */
  chunks(): AsyncIterable<TraceChunk>
}
