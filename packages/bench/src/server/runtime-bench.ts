/**
 * The ONNX runtime's costs on this machine: load time and how long it stalls the event loop
 * (in process vs worker threads), measured size after load vs file size, and per-inference
 * latency on mnist (in process vs one worker).
 * Run: npx tsx packages/bench/src/server/runtime-bench.ts [--sizes 1,4,16,64] (MiB)
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { cpus, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { makeModel } from "@meshkit/onnx-models"
import { makeOnnxRuntime, type OnnxRuntime, type Tensor } from "@meshkit/server"

const MNIST = fileURLToPath(new URL("../../../../../shared/models/mnist/model.onnx", import.meta.url))
const arg = process.argv.indexOf("--sizes")
const sizes = (arg > 0 ? process.argv[arg + 1]! : "1,4,16,64").split(",").map(Number)

const stall = async <T>(f: () => Promise<T>) => {
  let last = performance.now()
  let gap = 0
  const timer = setInterval(() => {
    const now = performance.now()
    gap = Math.max(gap, now - last)
    last = now
  }, 1)
  await new Promise((r) => setTimeout(r, 10))
  const t0 = performance.now()
  const value = await f()
  const ms = performance.now() - t0
  await new Promise((r) => setTimeout(r, 10))
  clearInterval(timer)
  return { value, ms, gap }
}

const dir = await mkdtemp(join(tmpdir(), "meshkit-runtime-bench-"))
const local = await makeOnnxRuntime({}, () => undefined)
const worker = await makeOnnxRuntime({ workers: 1 }, () => undefined)
try {
  console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model}, load average ${loadavg()[0]!.toFixed(1)}, size factor ${local.sizeFactor}`)
  console.log("model    | where      | load ms | max event-loop stall ms | size after load / file")
  for (const mib of sizes) {
    const path = join(dir, `m${mib}.onnx`)
    const bytes = makeModel({ sizeBytes: mib * 1048576, seed: mib })
    await writeFile(path, bytes)
    for (const [where, rt] of [["in process", local], ["worker", worker]] as [string, OnnxRuntime][]) {
      const r = await stall(() => rt.load(path, `m${mib}`))
      console.log(
        `${String(mib).padStart(3)} MiB  | ${where.padEnd(10)} | ${r.ms.toFixed(0).padStart(7)} | ${r.gap.toFixed(0).padStart(23)} | ${(r.value.sizeBytes / bytes.length).toFixed(2)}`
      )
      await r.value.unload()
    }
  }
  const x: Tensor[] = [{ name: "Input3", datatype: "FP32", shape: [1, 1, 28, 28], data: new Float32Array(784).fill(0.5) }]
  for (const [where, rt] of [["in process", local], ["worker", worker]] as [string, OnnxRuntime][]) {
    const m = await rt.load(MNIST, "mnist")
    for (let i = 0; i < 300; i++) await m.infer(x)
    const n = 3000
    const t0 = performance.now()
    for (let i = 0; i < n; i++) await m.infer(x)
    console.log(`mnist infer (sequential, ${where}): ${(((performance.now() - t0) / n) * 1000).toFixed(0)} µs per call`)
    await m.unload()
  }
} finally {
  await local.close()
  await worker.close()
  await rm(dir, { recursive: true, force: true })
}
