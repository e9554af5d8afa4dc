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
  /**
   * Tests: take none of the engine's shortcuts (placements settled as failed without asking
   * core's Placer, admissions refused without asking the cache), check instead that each one's
   * prediction matches what core and the cache answer (an error otherwise), and count the
   * predictions checked here. Slower; results are the same as without it for policies whose
   * refusals have no side effects (lru, fifo, gdsf, ...).
   */
  readonly checkShortcuts?: ShortcutCheck
}

export interface ShortcutCheck {
  /** admissions predicted to be refused (and refused by the cache) */
  refusals: number
  /** placements predicted to fail (and failed by core's Placer) */
  placements: number
}
