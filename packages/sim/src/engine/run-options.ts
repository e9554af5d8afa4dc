export interface RunOptions {
  /**
   * Offline eviction policies only: for global request index g, the time of the next request for
   * the same model (Infinity when none). See next-use.ts.
   */
  readonly nextUse?: Float64Array
  /**
   * Ideal mode, offline policies, a trace that `recordsNextAccess`: take next uses from the
   * trace's own record and run the policy's clock on its positions (vtime), streaming.
   */
  readonly recordedNextAccess?: boolean
  /** called after each trace chunk with the number of requests replayed so far */
  readonly onProgress?: (requests: number) => void
}
