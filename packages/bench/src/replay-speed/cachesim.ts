import { spawn } from "node:child_process"

/**
 * One run of libCacheSim's `cachesim` with a single policy and size: its own single-cache path
 * (bin/cachesim/sim.c `simulate`), which reports the request miss ratio (misses ÷ requests, to 4
 * decimals) and its throughput (requests ÷ the loop's time from the first request to the last,
 * trace reading and zstd decompression included, start-up excluded): the same definitions as
 * meshkit's missRatio and requestsPerSecond. Object sizes count (no --ignore-obj-size), the size
 * is in bytes, objects larger than the cache are misses that are not inserted, zero-size records
 * are skipped by its reader: meshkit's oracleGeneral replay does the same.
 * cachesim writes `<trace name>.cachesim` into its working directory: `cwd` is a scratch dir.
 */
export interface CachesimRun {
  readonly requests: number
  readonly missRatio: number
  readonly requestsPerSecond: number
  /** the process's wall time, start-up included (for the record) */
  readonly processSeconds: number
}

const LINE = /cache size\s+\S+,\s+(\d+) req, miss ratio ([\d.]+), throughput ([\d.]+) MQPS/

/** cachesim's result line (sim.c): requests, miss ratio and throughput (M requests/s); undefined without it */
export const parseCachesimOutput = (out: string): { readonly requests: number; readonly missRatio: number; readonly requestsPerSecond: number } | undefined => {
  const m = LINE.exec(out)
  return m ? { requests: Number(m[1]), missRatio: Number(m[2]), requestsPerSecond: Number(m[3]) * 1e6 } : undefined
}

export const runCachesim = (binary: string, trace: string, policy: string, capacityBytes: number, cwd: string): Promise<CachesimRun> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(binary, [trace, "oracleGeneral", policy, String(capacityBytes)], { cwd, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    child.stdout.on("data", (b: Buffer) => (out += b.toString()))
    child.stderr.on("data", (b: Buffer) => (out += b.toString()))
    child.on("error", (e) => reject(new Error(`cachesim ${binary}: ${e.message}`)))
    child.on("close", (code) => {
      const r = parseCachesimOutput(out)
      if (code !== 0 || r === undefined) return reject(new Error(`cachesim exited ${code} without its result line; output ends: ${out.slice(-400)}`))
      resolve({ ...r, processSeconds: (performance.now() - t0) / 1000 })
    })
  })
