/**
 * CSV trace parsing speed: writes a ~2 M line generated trace (1000 models, 10 tenants, exec
 * times) into the OS temp dir, then streams it through csvTrace three times and prints the best
 * lines/s. Run: npx tsx packages/sim/bench/csv-parse-bench.ts [lines]
 */
import { rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { csvTrace, generatedTrace, writeCsvTrace } from "../src/trace/index.js"

const lines = Number(process.argv[2] ?? 2_000_000)
const path = join(tmpdir(), `meshkit-csv-bench-${process.pid}.csv`)

try {
  const written = await writeCsvTrace(
    generatedTrace({ seed: 7, models: 1000, tenants: 10, requests: lines, rate: 500, execMedianMs: 20 }),
    path
  )
  const mib = statSync(path).size / 1024 ** 2
  console.log(`wrote ${written.requests.toLocaleString("en")} requests over ${written.models} models (${mib.toFixed(1)} MiB) to ${path}`)

  let best = Infinity
  for (let run = 1; run <= 3; run++) {
    const trace = csvTrace({ path })
    const start = process.hrtime.bigint()
    let n = 0
    let checksum = 0
    for await (const chunk of trace.chunks()) {
      n += chunk.length
      checksum += chunk.model[chunk.length - 1]! // touch the data so nothing is optimised away
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    if (n !== written.requests) throw new Error(`parsed ${n} requests, wrote ${written.requests}`)
    best = Math.min(best, seconds)
    console.log(`run ${run}: ${n.toLocaleString("en")} lines in ${seconds.toFixed(3)} s = ${(n / seconds / 1e6).toFixed(2)} M lines/s (checksum ${checksum})`)
  }
  console.log(`best of 3: ${(written.requests / best / 1e6).toFixed(2)} M lines/s, ${(mib / best).toFixed(0)} MiB/s (node ${process.version})`)
} finally {
  rmSync(path, { force: true })
}
