/**
 * KServe v2 REST codec on the hit path: decodeInferRequest + encodeInferResponse against the
 * least a bare handler does with the same bytes (JSON.parse, Float32Array.from, JSON.stringify).
 * Run: npx tsx packages/server/bench/codec-bench.ts   (figures are per request, this machine)
 */
import { Bench } from "tinybench"
import { decodeInferRequest } from "../src/protocol/v2-decode.js"
import { encodeInferResponse } from "../src/protocol/v2-encode.js"
import { tensorBytes } from "../src/protocol/tensor-bytes.js"
import type { TensorMeta } from "../src/runtime/runtime.js"

const cases = [
  { label: "mnist 1×784 → 10", rows: 1, cols: 784, outs: 10 },
  { label: "mlp 1×64 → 10", rows: 1, cols: 64, outs: 10 },
  { label: "mlp 64×64 → 64×10", rows: 64, cols: 64, outs: 640 }
]

const bench = new Bench({ time: 1500, warmupTime: 300 })
for (const c of cases) {
  const x = Float32Array.from({ length: c.rows * c.cols }, (_, i) => Math.fround(Math.sin(i) * 0.5 + 0.5))
  const y = Float32Array.from({ length: c.outs }, (_, i) => Math.fround(Math.cos(i) * 3))
  const meta: TensorMeta[] = [{ name: "input", datatype: "FP32", shape: [-1, c.cols] }]
  const body = Buffer.from(JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [c.rows, c.cols], data: Array.from(x) }] }))
  const outShape = [c.rows, c.outs / c.rows]
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [c.rows, c.cols], parameters: { binary_data_size: x.byteLength } }] }))
  const binBody = Buffer.concat([header, tensorBytes(x)])
  let sink = 0
  bench
    .add(`${c.label} bare JSON.parse + stringify`, () => {
      const req = JSON.parse(body.toString("utf8")) as { inputs: { name: string; shape: number[]; data: number[] }[] }
      const t = Float32Array.from(req.inputs[0]!.data)
      const out = Buffer.from(JSON.stringify({ model_name: "m", outputs: [{ name: "output", datatype: "FP32", shape: outShape, data: Array.from(y) }] }))
      sink += t.length + out.length
    })
    .add(`${c.label} meshkit JSON decode + encode`, () => {
      const req = decodeInferRequest(body, undefined, meta)
      const out = encodeInferResponse("m", undefined, req.id, [{ name: "output", datatype: "FP32", shape: outShape, data: y }], false)
      sink += req.inputs[0]!.data.length + out.body.length
    })
    .add(`${c.label} meshkit binary decode + encode`, () => {
      const req = decodeInferRequest(binBody, header.length, meta)
      const out = encodeInferResponse("m", undefined, req.id, [{ name: "output", datatype: "FP32", shape: outShape, data: y }], true)
      sink += req.inputs[0]!.data.length + out.body.length
    })
  if (sink < 0) console.log(sink)
}
await bench.run()
console.log(`node ${process.version}, ${(await import("node:os")).cpus()[0]?.model}, load average ${(await import("node:os")).loadavg()[0]!.toFixed(1)}`)
console.table(
  bench.tasks.map((t) => {
    const r = t.result as { latency?: { mean: number; p99?: number }; throughput?: { mean: number } } | undefined
    return { task: t.name, "µs/request (mean)": r?.latency ? (r.latency.mean * 1000).toFixed(1) : "?", "p99 µs": r?.latency?.p99 ? (r.latency.p99 * 1000).toFixed(1) : "?" }
  })
)
