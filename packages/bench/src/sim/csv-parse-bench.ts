/**
 * CSV trace parsing speed: writes a ~2 M line generated trace (1000 models, 10 tenants, exec
 * times) into the OS temp dir, streams it through csvTrace once to warm up the JIT and page
 * cache, then three timed times, and prints the best lines/s (wall clock), plus lines per CPU
 * second of this process as a figure less sensitive to other load on a shared machine.
 * Run: npx tsx packages/bench/src/sim/csv-parse-bench.ts [lines]
 */
import { rmSync, statSync } from "node:fs"
import os, { tmpdir } from "node:os"
import { join } from "node:path"
import { csvTrace, generatedTrace, writeCsvTrace } from "@meshkit/sim"

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
  let bestCpu = Infinity
  for (let run = 0; run <= 3; run++) {
    const trace = csvTrace({ path })
    const start = process.hrtime.bigint()
    const cpu = process.cpuUsage()
    let n = 0
    let checksum = 0
    for await (const chunk of trace.chunks()) {
      n += chunk.length
      checksum += chunk.model[chunk.length - 1]! // touch the data so nothing is optimised away
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const used = process.cpuUsage(cpu)
    const cpuSeconds = (used.user + used.system) / 1e6
    if (n !== written.requests) throw new Error(`parsed ${n} requests, wrote ${written.requests}`)
    const label = run === 0 ? "warm-up" : `run ${run}`
    console.log(
      `${label}: ${n.toLocaleString("en")} lines in ${seconds.toFixed(3)} s = ${(n / seconds / 1e6).toFixed(2)} M lines/s; ` +
        `${cpuSeconds.toFixed(3)} CPU s = ${(n / cpuSeconds / 1e6).toFixed(2)} M lines/CPU-s (checksum ${checksum})`
    )
    if (run === 0) continue
    best = Math.min(best, seconds)
    bestCpu = Math.min(bestCpu, cpuSeconds)
  }
  console.log(
    `best of 3: ${(written.requests / best / 1e6).toFixed(2)} M lines/s, ${(mib / best).toFixed(0)} MiB/s; ` +
      `${(written.requests / bestCpu / 1e6).toFixed(2)} M lines/CPU-s (node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)})`
  )
} finally {
  rmSync(path, { force: true })
}
