import type { BatchingPolicy, BatchQueueView } from "@meshkit/core"
import type { LoadedModel, Tensor, TensorData } from "./runtime.js"

/**
 * Dynamic batching, for any runtime: a loaded model whose inputs and outputs all have a variable
 * first dimension gets its concurrent requests merged along that dimension, run once and split
 * back. When the merged requests run is the core BatchingPolicy's decision (the simulator asks
 * the same policy). A model belongs to one tenant, so a batch never mixes tenants; each request
 * passed its tenant's admission (concurrency, rate) before it reached the queue.
 *
 * Why it pays: a small MLP's run costs little more for 32 rows than for one (the weights are read
 * once per run, not once per row), so under concurrency one run serves many requests.
 */

interface Waiting {
  readonly inputs: ReadonlyArray<Tensor>
  readonly outputNames: ReadonlyArray<string> | undefined
  readonly rows: number
  /** requests merge only with requests of the same key: input names, datatypes, inner dims, outputs */
  readonly key: string
  readonly arrival: number
  readonly resolve: (t: Tensor[]) => void
  readonly reject: (e: unknown) => void
}

/** True when every input and output has a variable first dimension: rows can be merged and split. */
export const canBatch = (m: Pick<LoadedModel, "inputs" | "outputs">): boolean =>
  m.inputs.length > 0 &&
  m.outputs.length > 0 &&
  [...m.inputs, ...m.outputs].every((t) => t.shape.length >= 1 && t.shape[0] === -1)

export interface BatchStats {
  /** runs made, and requests they served */
  runs: number
  requests: number
}

/**
 * Wrap `model` so concurrent infer calls are merged by `policy`. Requests that cannot be merged
 * (rows disagree between inputs, or no rows) run alone, as without batching.
 */
export const batchedModel = (model: LoadedModel, policy: BatchingPolicy, stats: BatchStats = { runs: 0, requests: 0 }): LoadedModel => {
  const queue: Waiting[] = []
  let head = 0
  let queuedRows = 0
  let running = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let timerAt = Infinity
  const view = { requests: 0, rows: 0, oldestArrival: Infinity, running: 0 }
  const q = (): BatchQueueView => {
    view.requests = queue.length - head
    view.rows = queuedRows
    view.oldestArrival = head < queue.length ? queue[head]!.arrival : Infinity
    view.running = running
    return view
  }

  const pump = (): void => {
    for (;;) {
      const now = performance.now()
      const want = policy.rowsToRun(q(), now)
      if (want <= 0) {
        const at = policy.nextDecisionAt(view, now)
        if (at < Infinity && at !== timerAt) {
          if (timer !== undefined) clearTimeout(timer)
          timerAt = at
          timer = setTimeout(() => {
            timer = undefined
            timerAt = Infinity
            pump()
          }, Math.max(0, at - now))
        }
        return
      }
      const batch = take(want)
      running++
      run(batch).finally(() => {
        running--
        pump()
      })
    }
  }

  /** Waiting requests in arrival order while their rows fit (at least one), of one key. */
  const take = (maxRows: number): Waiting[] => {
    const first = queue[head++]!
    const batch = [first]
    let rows = first.rows
    while (head < queue.length) {
      const w = queue[head]!
      if (w.key !== first.key || rows + w.rows > maxRows) break
      batch.push(w)
      rows += w.rows
      head++
    }
    queuedRows -= rows
    if (head === queue.length) {
      queue.length = 0
      head = 0
    } else if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head)
      head = 0
    }
    return batch
  }

  const runAlone = (w: Waiting): Promise<void> =>
    model.infer(w.inputs, w.outputNames).then(w.resolve, w.reject)

  const run = (batch: Waiting[]): Promise<void> => {
    stats.runs++
    stats.requests += batch.length
    if (batch.length === 1) return runAlone(batch[0]!)
    let merged: Tensor[]
    try {
      merged = mergeInputs(batch)
    } catch (e) {
      return Promise.all(batch.map(runAlone)).then(() => undefined)
    }
    return model.infer(merged, batch[0]!.outputNames).then(
      (outputs) => {
        const parts = splitOutputs(outputs, batch)
        if (parts === undefined) return Promise.all(batch.map(runAlone)).then(() => undefined)
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(parts[i]!)
        return undefined
      },
      // One bad request must not fail the others: run each alone so only it gets its error.
      () => Promise.all(batch.map(runAlone)).then(() => undefined)
    )
  }

  return {
    sizeBytes: model.sizeBytes,
    inputs: model.inputs,
    outputs: model.outputs,
    unload: () => model.unload(),
    infer(inputs, outputNames) {
      const rows = rowsOf(inputs)
      if (rows <= 0) return model.infer(inputs, outputNames)
      return new Promise<Tensor[]>((resolve, reject) => {
        queue.push({ inputs, outputNames, rows, key: keyOf(inputs, outputNames), arrival: performance.now(), resolve, reject })
        queuedRows += rows
        pump()
      })
    }
  }
}

/** The shared first dimension of every input, or -1 when they disagree. */
const rowsOf = (inputs: ReadonlyArray<Tensor>): number => {
  if (inputs.length === 0) return -1
  const rows = inputs[0]!.shape[0]
  if (rows === undefined) return -1
  for (const t of inputs) if (t.shape.length === 0 || t.shape[0] !== rows) return -1
  return rows
}

const keyOf = (inputs: ReadonlyArray<Tensor>, outputNames: ReadonlyArray<string> | undefined): string => {
  let k = outputNames === undefined ? "*" : outputNames.join(",")
  for (const t of inputs) k += `|${t.name}:${t.datatype}:${t.shape.slice(1).join("x")}`
  return k
}

const mergeInputs = (batch: ReadonlyArray<Waiting>): Tensor[] => {
  const first = batch[0]!
  let rows = 0
  for (const w of batch) rows += w.rows
  return first.inputs.map((t, i) => {
    // Same key: same names in the same order, datatypes and inner dimensions.
    const parts = batch.map((w) => w.inputs[i]!.data)
    return { name: t.name, datatype: t.datatype, shape: [rows, ...t.shape.slice(1)], data: concat(parts) }
  })
}

const concat = (parts: ReadonlyArray<TensorData>): TensorData => {
  const first = parts[0]!
  if (Array.isArray(first)) return (parts as string[][]).flat()
  let n = 0
  for (const p of parts) n += p.length
  const Ctor = first.constructor as new (n: number) => Exclude<TensorData, string[]>
  const out = new Ctor(n)
  let at = 0
  for (const p of parts as ReadonlyArray<Exclude<TensorData, string[]>>) {
    ;(out as unknown as { set(a: ArrayLike<number | bigint>, o: number): void }).set(p as ArrayLike<number | bigint>, at)
    at += p.length
  }
  return out
}

/** Each request's rows of every output; undefined when an output does not have one row per input row. */
const splitOutputs = (outputs: ReadonlyArray<Tensor>, batch: ReadonlyArray<Waiting>): Tensor[][] | undefined => {
  let rows = 0
  for (const w of batch) rows += w.rows
  const out: Tensor[][] = batch.map(() => [])
  for (const t of outputs) {
    if (t.shape[0] !== rows) return undefined
    const inner = rows === 0 ? 0 : t.data.length / rows
    let r0 = 0
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!.rows
      const from = r0 * inner
      const to = (r0 + r) * inner
      const data = Array.isArray(t.data) ? t.data.slice(from, to) : (t.data as Exclude<TensorData, string[]>).subarray(from, to)
      out[i]!.push({ name: t.name, datatype: t.datatype, shape: [r, ...t.shape.slice(1)], data: data as TensorData })
      r0 += r
    }
  }
  return out
}
