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
  /**
   * Present when the trace records each request's next access (libCacheSim's oracleGeneral):
   * the request's own position in the source (1-based, counting records the reader dropped)...
   */
  readonly vtime?: Float64Array
  /** ...and the position of the next request for the same object, Infinity when none. */
  readonly nextVtime?: Float64Array
}

/** Every model seen so far, indexed by the integers in TraceChunk.model. Grows while streaming. */
export interface ModelTable {
  readonly ids: string[]
  readonly tenants: string[]
  readonly sizes: number[]
}

export interface ChunkOptions {
  /** fill `vtime`/`nextVtime` (only where `recordsNextAccess`; it costs 16 bytes per request) */
  readonly nextAccess?: boolean
}

export interface Trace {
  /** a label for reports */
  readonly name: string
  /**
   * True when every chunk carries `vtime` and `nextVtime`: offline policies can then replay the
   * trace streamed (ideal mode) instead of materialising it to find next uses.
   */
  readonly recordsNextAccess?: boolean
  readonly models: ModelTable
  /**
   * Streams the requests. Calling it again restarts from the beginning (the engine replays the
   * same trace once per policy / memory size). Models are added to `models` before the first
   * chunk that references them is yielded.
   */
  chunks(options?: ChunkOptions): AsyncIterable<TraceChunk>
}
