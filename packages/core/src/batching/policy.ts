/**
 * What a batching policy sees of one model's queue: requests waiting to run (in arrival order)
 * and the runs already in flight. Plain numbers, read on every decision: no allocation.
 */
export interface BatchQueueView {
  /** requests waiting */
  readonly requests: number
  /** rows (first-dimension length) summed over the waiting requests */
  readonly rows: number
  /** arrival time (ms) of the oldest waiting request; Infinity when none waits */
  readonly oldestArrival: number
  /** batches running now */
  readonly running: number
}

/**
 * Decides when a model's waiting requests run, and how many rows together. The server's batcher
 * and the simulator both ask it, so a batching configuration is evaluated before it is deployed.
 * Plain, synchronous and deterministic.
 */
export interface BatchingPolicy {
  readonly name: string
  /** Largest number of rows one run may take (a request larger than this still runs, alone). */
  readonly maxRows: number
  /**
   * Rows to run now, 0 to wait. The caller takes waiting requests in arrival order while their
   * rows fit in the answer (always at least one).
   */
  rowsToRun(q: BatchQueueView, now: number): number
  /** When `rowsToRun` answered 0: the time (ms) to ask again; Infinity = on the next arrival or completion. */
  nextDecisionAt(q: BatchQueueView, now: number): number
}
