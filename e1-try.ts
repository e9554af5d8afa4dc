import { makeOnnxRuntime } from "./packages/server/src/runtime/onnx.ts"
import { encodeOnnxModel } from "./packages/server/src/models/onnx-writer.ts"
import { writeFileSync } from "node:fs"
writeFileSync("/tmp/e1sym.onnx", encodeOnnxModel({ name: "g", inputs: [{ name: "x", dims: ["N", "K"] }], outputs: [{ name: "y", dims: ["N", 2] }], nodes: [{ op: "MatMul", inputs: ["x", "w"], outputs: ["y"] }], initializers: [{ name: "w", dims: [4, 2], data: new Float32Array(8).fill(1) }] }))
const rt = await makeOnnxRuntime()
const m = await rt.load("/tmp/e1sym.onnx", "s")
try { await m.infer([{ name: "x", datatype: "FP32", shape: [1, 5], data: new Float32Array(5) }]) } catch (e) { console.log(JSON.stringify((e as any).message)) }
