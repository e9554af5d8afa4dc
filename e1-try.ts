import { makeOnnxRuntime } from "./packages/server/src/runtime/onnx.ts"
const rt = await makeOnnxRuntime({ executionProviders: ["cuda", "tensorrt"] }, (l) => console.log("LOG:", l))
console.log(rt.executionProviders, rt.sizeFactor)
const m = await rt.load("/work/shared/models/mnist/model.onnx", "mnist")
console.log(m.sizeBytes, m.inputs, m.outputs)
const out = await m.infer([{ name: "Input3", datatype: "FP32", shape: [1, 1, 28, 28], data: new Float32Array(784).fill(0.3) }])
console.log(out)
try { await m.infer([{ name: "Input3", datatype: "FP32", shape: [1, 1, 28, 27], data: new Float32Array(756) }]) } catch (e) { console.log(e) }
await rt.close()
