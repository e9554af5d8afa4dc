import { decodeInferRequest } from "./packages/server/src/protocol/v2-decode.ts"
import { encodeInferResponse } from "./packages/server/src/protocol/v2-encode.ts"
const x = Float32Array.from({ length: 64 }, (_, i) => Math.fround(Math.sin(i) * 0.5 + 0.5))
const y = Float32Array.from({ length: 10 }, (_, i) => Math.fround(Math.cos(i) * 3))
const meta = [{ name: "input", datatype: "FP32" as const, shape: [-1, 64] }]
const body = Buffer.from(JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 64], data: Array.from(x) }] }))
const N = 20000
let s = 0
const time = (label: string, f: () => void) => { for (let i = 0; i < 2000; i++) f(); const t = performance.now(); for (let i = 0; i < N; i++) f(); console.log(label, ((performance.now() - t) / N * 1000).toFixed(1), "µs") }
for (let r = 0; r < 2; r++) {
time("parse only", () => { s += (JSON.parse(body.toString()) as any).inputs.length })
time("decode", () => { s += decodeInferRequest(body, undefined, meta).inputs.length })
time("bare stringify", () => { s += Buffer.from(JSON.stringify({ model_name: "m", outputs: [{ name: "output", datatype: "FP32", shape: [1, 10], data: Array.from(y) }] })).length })
time("encode", () => { s += encodeInferResponse("m", undefined, undefined, [{ name: "output", datatype: "FP32", shape: [1, 10], data: y }], false).body.length })
time("join only", () => { s += y.join(",").length })
time("array join", () => { s += Array.from(y).join(",").length })
}
