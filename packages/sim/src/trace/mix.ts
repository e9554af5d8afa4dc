import { Schema } from "effect"
import { ChunkBuilder } from "./chunk-builder.js"
import { decodeOptions, TraceError } from "./errors.js"
import { GeneratorOptions, generatedTrace } from "./generator.js"
import { ModelTableBuilder } from "./model-table.js"
import type { Trace, TraceChunk } from "./types.js"

/**
 * Several generated traces replayed together, merged by arrival time: one workload per part
 * (a tenant flooding with one-off models beside tenants with steady working sets, say). Each
 * part needs its own `modelPrefix` so that model ids stay distinct; tenants may be shared.
 */
export const MixOptions = Schema.Array(GeneratorOptions).pipe(
  Schema.minItems(1),
  Schema.filter((parts) => {
    const seen = new Set<string>()
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!.modelPrefix
      if (seen.has(p)) return `mix[${i}].modelPrefix: "${p}" is used by an earlier part; give each part its own`
      seen.add(p)
    }
    return true
  })
)
export type MixOptions = typeof MixOptions.Type

export const mixedTrace = (input: typeof MixOptions.Encoded): Trace => {
  const parts = decodeOptions("mix trace options", MixOptions, input)
  const table = new ModelTableBuilder()
  const traces = parts.map((p) => generatedTrace(p))
  // kept across replays: each part's model k always maps to the same mixed index
  const maps = traces.map((): number[] => [])
  const owner = new Map<string, number>()
  return {
    name: `mix of ${traces.map((t) => t.name).join(" + ")}`,
    models: table.table,
    chunks: () => merge(traces, maps, owner, table)
  }
}

/** One part's stream, one request at a time (an await per chunk, not per request). */
class Cursor {
  chunk: TraceChunk | undefined
  i = 0
  constructor(
    readonly part: number,
    readonly it: AsyncIterator<TraceChunk>
  ) {}
  get time(): number {
    return this.chunk!.timeMs[this.i]!
  }
  /** load the next non-empty chunk; false at the end */
  async refill(): Promise<boolean> {
    for (;;) {
      const r = await this.it.next()
      if (r.done) return false
      this.chunk = r.value
      this.i = 0
      if (r.value.length > 0) return true
    }
  }
}

async function* merge(
  traces: readonly Trace[],
  maps: number[][],
  owner: Map<string, number>,
  table: ModelTableBuilder
): AsyncGenerator<TraceChunk> {
  const live: Cursor[] = []
  for (let p = 0; p < traces.length; p++) {
    const c = new Cursor(p, traces[p]!.chunks()[Symbol.asyncIterator]())
    if (await c.refill()) live.push(c)
  }
  const out = new ChunkBuilder()
  while (live.length > 0) {
    // few parts: a linear scan for the earliest (ties: the earlier part, so the merge is stable)
    let k = 0
    for (let j = 1; j < live.length; j++) if (live[j]!.time < live[k]!.time) k = j
    const c = live[k]!
    const chunk = c.chunk!
    const pm = chunk.model[c.i]!
    const map = maps[c.part]!
    let m = map[pm]
    if (m === undefined) {
      const models = traces[c.part]!.models
      const id = models.ids[pm]!
      const other = owner.get(id)
      if (other !== undefined && other !== c.part)
        throw new TraceError({ message: `mix: model id ${id} appears in parts ${other} and ${c.part} (give each part its own modelPrefix)` })
      owner.set(id, c.part)
      m = map[pm] = table.intern(id, models.tenants[pm]!, models.sizes[pm]!)
    }
    out.push(chunk.timeMs[c.i]!, m, chunk.execMs[c.i]!)
    if (out.full) yield out.take()
    if (++c.i >= chunk.length && !(await c.refill())) live.splice(k, 1)
  }
  if (out.length > 0) yield out.take()
}
