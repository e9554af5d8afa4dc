export interface RunOptions {
  /**
   * Offline eviction policies only: for global request index g, the time of the next request for
   * the same model (Infinity when none). See next-use.ts.
   */
  readonly nextUse?: Float64Array
  /** called after each trace chunk with the number of requests replayed so far */
  readonly onProgress?: (requests: number) => void
}
