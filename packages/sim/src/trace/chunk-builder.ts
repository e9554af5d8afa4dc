import type { TraceChunk } from "./types.js"

/** Requests per chunk: large enough to amortise the async hop per chunk, small enough for cache. */
export const CHUNK_SIZE = 65_536

/**
 * Fills columnar chunks one request at a time. Every chunk gets fresh arrays, so consumers may
 * keep the chunks they receive (materialize does).
 */
export class ChunkBuilder {
  private readonly capacity: number
  private timeMs: Float64Array
  private model: Int32Array
  private execMs: Float64Array
  private n = 0

  constructor(capacity: number = CHUNK_SIZE) {
    this.capacity = capacity
    this.timeMs = new Float64Array(capacity)
    this.model = new Int32Array(capacity)
    this.execMs = new Float64Array(capacity)
  }

  get length(): number {
    return this.n
  }

  get full(): boolean {
    return this.n === this.capacity
  }

  /** Callers check `full` and `take()` before pushing more. */
  push(timeMs: number, model: number, execMs: number): void {
    const i = this.n++
    this.timeMs[i] = timeMs
    this.model[i] = model
    this.execMs[i] = execMs
  }

  /** The requests pushed so far as a chunk, and a fresh empty buffer for the next ones. */
  take(): TraceChunk {
    const n = this.n
    const chunk: TraceChunk =
      n === this.capacity
        ? { length: n, timeMs: this.timeMs, model: this.model, execMs: this.execMs }
        : { length: n, timeMs: this.timeMs.slice(0, n), model: this.model.slice(0, n), execMs: this.execMs.slice(0, n) }
    if (n < this.capacity) {
      // the partial buffer was copied out: reuse it
      this.n = 0
      return chunk
    }
    this.timeMs = new Float64Array(this.capacity)
    this.model = new Int32Array(this.capacity)
    this.execMs = new Float64Array(this.capacity)
    this.n = 0
    return chunk
  }
}
