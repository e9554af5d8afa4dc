import { mkdirSync } from "node:fs"
import { join } from "node:path"
import type { Section } from "@meshkit/report"
import { fmt } from "../compare/compare.js"
import { runLoad, type LoadResult } from "../harness/load.js"
import { inferBody, inputOf, makeModels, startMeshkit, timedInfer, type RunningServer } from "../harness/servers.js"
import { figureOf, type Figure } from "../report/figures.js"
import type { Part } from "../report/parts.js"

/**
 * Dynamic batching on vs off: the same 4 MiB MLP (`meshkit models make --size 4MiB`), where running
 * the model rather than the server's own overhead dominates a request, served by two meshkit
 * processes that differ only in --max-batch-size. 64 connections, ABBA order; figures are
 * per-pair ratios, then the median.
 */

const CONNECTIONS = 64
const BATCH = 32

export const batchingPart: Part = async (ctx) => {
  const pairs = ctx.quick ? 2 : 4
  const seconds = ctx.quick ? 5 : 10
  const dir = join(ctx.workDir, "batch-models")
  mkdirSync(dir, { recursive: true })
  const models = await makeModels(dir, { count: 1, size: "4MiB", prefix: "mlp" })
  const model = models.names[0]!
  const input = await inputOf(models.files[0]!)
  const body = inferBody(input.name, input.dim)
  ctx.progress(`model ${model} (4 MiB MLP, input [1, ${input.dim}]), ${pairs} pairs × ${seconds} s, ${CONNECTIONS} connections, batch ${BATCH}`)
  let off: RunningServer | undefined
  let on: RunningServer | undefined
  try {
    off = await startMeshkit({ models: dir, memory: "256MiB", dataDir: join(ctx.workDir, "batch-off") })
    on = await startMeshkit({ models: dir, memory: "256MiB", dataDir: join(ctx.workDir, "batch-on"), extra: ["--max-batch-size", String(BATCH)] })
    const servers = { off, on } as const
    for (const s of Object.values(servers)) {
      const r = await timedInfer(s.inferUrl(model), body)
      if (r.status !== 200) throw new Error(`meshkit answered ${r.status} to a valid request: ${r.text.slice(0, 300)}`)
      await runLoad({ url: s.inferUrl(model), connections: CONNECTIONS, durationSeconds: 2, body })
    }
    const runs: { off: LoadResult[]; on: LoadResult[] } = { off: [], on: [] }
    for (let i = 0; i < pairs; i++) {
      const order = i % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)
      for (const which of order) {
        const r = await runLoad({ url: servers[which].inferUrl(model), connections: CONNECTIONS, durationSeconds: seconds, body })
        runs[which].push(r)
        ctx.progress(`pair ${i + 1}/${pairs} batching ${which.padEnd(3)} ${fmt(r.throughput)} req/s, p50 ${r.latencyUs.p50} µs, p99 ${r.latencyUs.p99} µs${r.ok !== r.responses || r.errors ? `, ${r.responses - r.ok} non-2xx, ${r.errors} errors` : ""}`)
      }
    }
    const rowCost = await measureRowCost(models.files[0]!, input.name, input.dim)
    ctx.progress(`row cost (one more row ÷ a whole run, onnxruntime in process): ${rowCost.toFixed(4)}`)
    return summarise(runs, { model, dim: input.dim, pairs, seconds, rowCost })
  } finally {
    await Promise.all([off?.child.stop(), on?.child.stop()])
  }
}

/**
 * What one more row costs relative to a run of one, on this model and machine: the simulator's
 * cluster.batching.rowCost. Median time of runs of 1 and of BATCH rows, alternated, in process.
 */
const measureRowCost = async (file: string, inputName: string, dim: number): Promise<number> => {
  const ort = await import("onnxruntime-node")
  const s = await ort.InferenceSession.create(file)
  try {
    const feed = (rows: number) => ({ [inputName]: new ort.Tensor("float32", new Float32Array(rows * dim).fill(0.5), [rows, dim]) })
    const one = feed(1)
    const many = feed(BATCH)
    const t1: number[] = []
    const tn: number[] = []
    for (let i = 0; i < 5; i++) await s.run(one), await s.run(many)
    for (let i = 0; i < 40; i++) {
      let t0 = performance.now()
      await s.run(one)
      t1.push(performance.now() - t0)
      t0 = performance.now()
      await s.run(many)
      tn.push(performance.now() - t0)
    }
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!
    return (median(tn) / median(t1) - 1) / (BATCH - 1)
  } finally {
    await s.release()
  }
}

const summarise = (runs: { off: ReadonlyArray<LoadResult>; on: ReadonlyArray<LoadResult> }, o: { model: string; dim: number; pairs: number; seconds: number; rowCost: number }) => {
  const { off, on } = runs
  const idx = off.map((_, i) => i)
  const group = "batching"
  const figures: Figure[] = [
    figureOf(
      { name: "batchThroughputRatio", group, unit: "×", better: "higher", threshold: null, target: { op: ">=", value: 2, source: "runtimes issue" }, description: "req/s with batching ÷ without, per pair (4 MiB MLP, 64 connections)" },
      idx.map((i) => on[i]!.throughput / off[i]!.throughput)
    ),
    figureOf(
      { name: "batchP99Ratio", group, unit: "×", better: "lower", threshold: null, target: { op: "<=", value: 1, source: "runtimes issue" }, description: "p99 with batching ÷ without, per pair" },
      idx.map((i) => on[i]!.latencyUs.p99 / off[i]!.latencyUs.p99)
    ),
    figureOf(
      { name: "batchNon2xx", group, unit: "responses", better: "lower", threshold: 0, thresholdKind: "absolute", description: "non-2xx responses and errors, both sides, all runs" },
      [[...off, ...on].reduce((s, r) => s + (r.responses - r.ok) + r.errors, 0)]
    ),
    figureOf({ name: "batchRowCost", group, unit: "×", better: "lower", threshold: null, digits: 3, description: `one more row ÷ a run of one (onnxruntime in process, runs of 1 and ${BATCH} rows): the simulator's cluster.batching.rowCost` }, [o.rowCost]),
    figureOf({ name: "batchThroughputOff", group, unit: "req/s", better: "higher", threshold: null, digits: 4 }, off.map((r) => r.throughput)),
    figureOf({ name: "batchThroughputOn", group, unit: "req/s", better: "higher", threshold: null, digits: 4 }, on.map((r) => r.throughput))
  ].filter((f): f is Figure => f !== undefined)
  const row = (i: number, name: string, r: LoadResult) => [`${i + 1}`, name, fmt(r.throughput), r.latencyUs.p50, r.latencyUs.p99, r.latencyUs.p999, r.responses - r.ok + r.errors]
  const sections: Section[] = [
    {
      heading: "Dynamic batching",
      text:
        `Model ${o.model} (4 MiB MLP, FP32 input [1, ${o.dim}]) resident on two meshkit processes, one with --max-batch-size ${BATCH} (delay 0: batches form from requests already waiting), one without. ` +
        `${CONNECTIONS} connections, ${o.seconds} s per run, ${o.pairs} pairs in ABBA order; latency per response in µs.`,
      table: { columns: ["pair", "batching", "req/s", "p50 µs", "p99 µs", "p99.9 µs", "non-2xx"], rows: idx.flatMap((i) => [row(i, "off", off[i]!), row(i, "on", on[i]!)]) }
    }
  ]
  return { figures, notes: [] as string[], sections }
}
