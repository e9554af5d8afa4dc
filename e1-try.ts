import { encodeMlp, planMlp, makeModels } from "./packages/server/src/models/make.ts"
import { writeFile, mkdir } from "node:fs/promises"
await mkdir("/tmp/e1big/old", { recursive: true })
const sh = planMlp(4 << 20)
for (let rep = 0; rep < 2; rep++) {
  let c0 = process.cpuUsage(); let t0 = performance.now()
  for (let i = 0; i < 150; i++) await writeFile(`/tmp/e1big/old/m${i}.onnx`, encodeMlp(sh, 1, i))
  let c = process.cpuUsage(c0)
  console.log("old: wall s", ((performance.now() - t0) / 1000).toFixed(1), "cpu s", ((c.user + c.system) / 1e6).toFixed(1))
  c0 = process.cpuUsage(); t0 = performance.now()
  await makeModels({ outDir: "/tmp/e1big/new", count: 150, sizeBytes: 4 << 20 })
  c = process.cpuUsage(c0)
  console.log("new: wall s", ((performance.now() - t0) / 1000).toFixed(1), "cpu s", ((c.user + c.system) / 1e6).toFixed(1))
}
