/**
 * KServe v2 REST codec on the hit path: decodeInferRequest + encodeInferResponse against the
 * least a bare handler does with the same bytes (JSON.parse, Float32Array.from, JSON.stringify).
 * Tasks run interleaved in rounds and each figure is the median round, so that a shared, noisy
 * machine affects all tasks alike.
 * Run: npx tsx packages/bench/src/server/codec-bench.ts   (µs per request)
 */
import { decodeInferRequest, encodeInferResponse, tensorBytes, type TensorMeta } from "@meshkit/server"

const cases = [
  { label: "mnist 1×784 → 10", rows: 1, cols: 784, outs: 10 },
  { label: "mlp 1×64 → 10", rows: 1, cols: 64, outs: 10 },
  { label: "mlp 64×64 → 64×10", rows: 64, cols: 64, outs: 640 }
]

const tasks: { name: string; fn: () => void }[] = []
const bench = {
  add(name: string, fn: () => void) {
    tasks.push({ name, fn })
    return bench
  }
}
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
const ROUNDS = 15
const samples = new Map<string, number[]>(tasks.map((t) => [t.name, []]))
for (let r = 0; r < ROUNDS; r++) {
  for (const t of tasks) {
    // Enough calls for ~20 ms per task per round (calibrated on the first round).
    const n = r === 0 ? 50 : Math.max(20, Math.round(20_000 / Math.max(1, median(samples.get(t.name)!))))
    const t0 = performance.now()
    for (let i = 0; i < n; i++) t.fn()
    samples.get(t.name)!.push(((performance.now() - t0) * 1000) / n)
  }
}
function median(xs: number[]): number {
  if (xs.length === 0) return 1
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]!
}
const os = await import("node:os")
console.log(`node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model}, load average ${os.loadavg()[0]!.toFixed(1)}, ${ROUNDS} rounds`)
for (const t of tasks) {
  const xs = samples.get(t.name)!.slice(1)
  console.log(`${t.name.padEnd(52)} median ${median(xs).toFixed(1).padStart(8)} µs   (min ${Math.min(...xs).toFixed(1)})`)
}
