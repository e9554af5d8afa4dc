import type { ModelEntry } from "../instance/model-entry.js"
import type { TensorMeta } from "../tensor.js"
import { MODEL_VERSION } from "./server-state.js"

/**
 * Per-model inference statistics in the shape of Triton's statistics extension
 * (`GET /v2/models/{m}/stats`, gRPC ModelStatistics), which perf_analyzer and Triton's clients
 * read to split a request's server-side time into queue, input, infer and output. The phases,
 * as meshkit's request path has them (serving/infer.ts):
 *
 *   queue          arrival → the model's slot is held (REST body read, waiting for a load or a slot)
 *   compute_input  decoding the request into tensors
 *   compute_infer  the runtime's run
 *   compute_output encoding and sending the answer
 *
 * No response cache, so cache_hit / cache_miss stay zero; no dynamic batching yet, so each
 * request is one execution (execution_count = successes) and inference_count adds the batch
 * dimension of models whose first dimension is variable, as Triton counts it.
 *
 * Counters live beside the model's entry for the life of the process (a reload keeps them, as
 * Triton's do across versions of one model); the hit path adds a WeakMap lookup and a few
 * additions. Durations are kept in milliseconds (floats) and shown in whole nanoseconds.
 */
export class Duration {
  count = 0
  ms = 0
  add(ms: number): void {
    this.count++
    this.ms += ms
  }
}

class BatchCounters {
  readonly input = new Duration()
  readonly infer = new Duration()
  readonly output = new Duration()
}

export class ModelCounters {
  lastInference = 0
  inferenceCount = 0
  executionCount = 0
  readonly success = new Duration()
  readonly fail = new Duration()
  readonly queue = new Duration()
  readonly computeInput = new Duration()
  readonly computeInfer = new Duration()
  readonly computeOutput = new Duration()
  readonly batches = new Map<number, BatchCounters>()
}

/** The clock readings of one served request (performance.now() values). */
export interface RequestTimes {
  /** arrival */
  readonly t0: number
  /** the model's slot held; decoding starts */
  readonly slot: number
  /** decoded; the runtime starts */
  readonly run: number
  /** the runtime answered; encoding starts */
  readonly ran: number
  /** the answer handed to the socket */
  readonly done: number
}

export class ModelStats {
  private readonly byEntry = new WeakMap<ModelEntry, ModelCounters>()

  private of(e: ModelEntry): ModelCounters {
    let c = this.byEntry.get(e)
    if (c === undefined) {
      c = new ModelCounters()
      this.byEntry.set(e, c)
    }
    return c
  }

  succeeded(e: ModelEntry, batch: number, t: RequestTimes): void {
    const c = this.of(e)
    // performance.now() on the timeline's origin: the epoch time without a second clock read
    c.lastInference = performance.timeOrigin + t.done
    c.inferenceCount += batch
    c.executionCount++
    c.success.add(t.done - t.t0)
    c.queue.add(t.slot - t.t0)
    c.computeInput.add(t.run - t.slot)
    c.computeInfer.add(t.ran - t.run)
    c.computeOutput.add(t.done - t.ran)
    let b = c.batches.get(batch)
    if (b === undefined) {
      b = new BatchCounters()
      c.batches.set(batch, b)
    }
    b.input.add(t.run - t.slot)
    b.infer.add(t.ran - t.run)
    b.output.add(t.done - t.ran)
  }

  failed(e: ModelEntry, t0: number): void {
    this.of(e).fail.add(performance.now() - t0)
  }

  /** The counters of `e` (zeros before its first request). */
  counters(e: ModelEntry): ModelCounters {
    return this.byEntry.get(e) ?? EMPTY
  }
}

const EMPTY = new ModelCounters()

/** The batch a request carries: its first input's first dimension when the model's is variable. */
export const batchOf = (inputs: ReadonlyArray<TensorMeta>, model: ReadonlyArray<TensorMeta>): number => {
  const first = model[0]
  if (first === undefined || first.shape[0] !== -1) return 1
  return inputs[0]?.shape[0] ?? 1
}

// ---- Triton's JSON / protobuf shape -----------------------------------------------------------

export interface StatisticDuration {
  readonly count: number
  readonly ns: number
}

export interface TritonModelStatistics {
  readonly name: string
  readonly version: string
  readonly last_inference: number
  readonly inference_count: number
  readonly execution_count: number
  readonly inference_stats: {
    readonly success: StatisticDuration
    readonly fail: StatisticDuration
    readonly queue: StatisticDuration
    readonly compute_input: StatisticDuration
    readonly compute_infer: StatisticDuration
    readonly compute_output: StatisticDuration
    readonly cache_hit: StatisticDuration
    readonly cache_miss: StatisticDuration
  }
  readonly batch_stats: ReadonlyArray<{
    readonly batch_size: number
    readonly compute_input: StatisticDuration
    readonly compute_infer: StatisticDuration
    readonly compute_output: StatisticDuration
  }>
}

const ns = (d: Duration): StatisticDuration => ({ count: d.count, ns: Math.round(d.ms * 1e6) })
const ZERO: StatisticDuration = { count: 0, ns: 0 }

export const tritonStatistics = (name: string, c: ModelCounters): TritonModelStatistics => ({
  name,
  version: MODEL_VERSION,
  last_inference: Math.round(c.lastInference),
  inference_count: c.inferenceCount,
  execution_count: c.executionCount,
  inference_stats: {
    success: ns(c.success),
    fail: ns(c.fail),
    queue: ns(c.queue),
    compute_input: ns(c.computeInput),
    compute_infer: ns(c.computeInfer),
    compute_output: ns(c.computeOutput),
    cache_hit: ZERO,
    cache_miss: ZERO
  },
  batch_stats: [...c.batches.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([size, b]) => ({ batch_size: size, compute_input: ns(b.input), compute_infer: ns(b.infer), compute_output: ns(b.output) }))
})
