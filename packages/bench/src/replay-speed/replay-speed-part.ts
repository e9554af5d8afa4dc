import { existsSync } from "node:fs"
import { open } from "node:fs/promises"
import { join } from "node:path"
import type { Section } from "@meshkit/report"
import { fmt } from "../compare/compare.js"
import { figureOf, median, type Figure } from "../report/figures.js"
import { loadAverage1m } from "../report/machine.js"
import type { Part } from "../report/parts.js"
import { runCachesim, type CachesimRun } from "./cachesim.js"
import { writeZipfOracle } from "./zipf-oracle.js"

/**
 * Ideal-mode replay speed of an oracleGeneral trace, side by side with libCacheSim's cachesim
 * (issue 12): a seeded Zipf trace of 20 M requests (1 M with --quick) written plain and as .zst,
 * lru and fifo at 10 % of the working set's bytes, meshkit and cachesim run back to back on the
 * same file. Reported: requests, both miss ratios to 4 decimals (they must be equal) and both
 * requests per second with their ratio (it must be ≥ 0.5). The part fails otherwise.
 * cachesim comes from `--cachesim PATH` or MESHKIT_CACHESIM; without it meshkit is reported alone.
 *
 * The reference as measured (reports/BENCHMARKS.md): libCacheSim at commit aa0fc40914b2 (2024-10-07,
 * "fix analyzer python scripts (#95)"), built outside the repository:
 *   apt-get install libglib2.0-dev libzstd-dev     # cmake and gcc were present
 *   git archive HEAD (without data/) | tar -x -C /tmp/libcachesim-src
 *   cmake -DCMAKE_BUILD_TYPE=Release -S /tmp/libcachesim-src -B /tmp/libcachesim-build && make -C /tmp/libcachesim-build cachesim
 * and run per file and policy as `cachesim FILE oracleGeneral lru|fifo CAPACITY_BYTES` (bytes, not
 * "MB": its MB and GB mean MiB and GiB, meshkit's mean 10^6 and 10^9).
 */

const POLICIES = ["lru", "fifo"] as const

type Sim = typeof import("@meshkit/sim")

/** Records per second of decompressing `path` alone with one decoder (no decoding of records). */
const decompressRate = async (sim: Sim, path: string, decoder: "zstddec-wasm" | "fzstd"): Promise<number> => {
  const fh = await open(path, "r")
  try {
    const t0 = performance.now()
    let bytes = 0
    for await (const p of sim.zstdStream(async (b) => (await fh.read(b, 0, b.length, null)).bytesRead, path, { decoder })) bytes += p.length
    return bytes / 24 / ((performance.now() - t0) / 1000)
  } finally {
    await fh.close()
  }
}
export const MIN_RATIO = 0.5

interface Row {
  readonly file: string
  readonly policy: string
  readonly requests: number
  readonly missRatio: number
  readonly requestsPerSecond: number
  readonly cachesim?: CachesimRun
  /** meshkit ÷ cachesim requests per second (median over rounds of the same-round ratio) */
  readonly ratio?: number
}

export const replaySpeedPart: Part = async (ctx) => {
  const sim = await import("@meshkit/sim")
  const binary = ctx.cachesim ?? process.env.MESHKIT_CACHESIM
  if (binary !== undefined && !existsSync(binary)) throw new Error(`cachesim binary ${binary} (--cachesim / MESHKIT_CACHESIM) does not exist`)
  const requests = ctx.quick ? 1_000_000 : 20_000_000
  const plain = join(ctx.workDir, "zipf.oracleGeneral")
  const zst = `${plain}.zst`
  ctx.progress(`writing ${fmt(requests / 1e6)} M requests (Zipf 0.9 over ${fmt(requests / 20 / 1e6)} M objects) as oracleGeneral, plain and .zst`)
  const trace = await writeZipfOracle({ requests, objects: Math.round(requests / 20), alpha: 0.9, seed: 1 }, [plain, zst])
  const capacity = Math.floor(trace.uniqueBytes * 0.1)
  const load0 = loadAverage1m()
  // rounds alternate who goes first, and each figure is the median of its rounds: on a shared
  // machine one run's neighbours can halve its speed
  const rounds = ctx.quick ? 1 : 3
  const samples = new Map<string, Row[]>()
  // the decompressor alone, the WASM one beside the pure-JS fallback (records/s), once a round
  const decode: { wasm: number[]; fzstd: number[] } = { wasm: [], fzstd: [] }
  const inUse = await sim.zstdDecoderInUse()
  for (let round = 0; round < rounds; round++) {
    if (inUse.name === "zstddec-wasm") {
      const order = round % 2 === 0 ? (["zstddec-wasm", "fzstd"] as const) : (["fzstd", "zstddec-wasm"] as const)
      for (const d of order) (d === "fzstd" ? decode.fzstd : decode.wasm).push(await decompressRate(sim, zst, d))
      ctx.progress(`round ${round + 1}/${rounds} .zst decompression alone: zstddec-wasm ${fmt(decode.wasm.at(-1)! / 1e6)} M records/s, fzstd ${fmt(decode.fzstd.at(-1)! / 1e6)} M records/s`)
    }
    for (const path of [plain, zst]) {
      for (const policy of POLICIES) {
        const cfg = { mode: "ideal", cluster: { ...sim.defaultCluster, memoryBytes: capacity }, eviction: policy, placement: "modelmesh", routing: "least-in-flight", scaling: "none", seed: 1, sloMs: 100 } as const
        const meshkit = async () => (await sim.simulate(sim.openTrace({ oracleGeneral: { path } }), cfg)).result
        const reference = async () => (binary !== undefined ? await runCachesim(binary, path, policy, capacity, ctx.workDir) : undefined)
        let r: Awaited<ReturnType<typeof meshkit>>
        let c: CachesimRun | undefined
        if (round % 2 === 0) {
          r = await meshkit()
          c = await reference()
        } else {
          c = await reference()
          r = await meshkit()
        }
        const file = path === zst ? ".zst" : "plain"
        const key = `${file} ${policy}`
        const row: Row = { file, policy, requests: r.requests, missRatio: r.missRatio, requestsPerSecond: r.requestsPerSecond, ...(c ? { cachesim: c } : {}) }
        samples.set(key, [...(samples.get(key) ?? []), row])
        ctx.progress(
          `round ${round + 1}/${rounds} ${key}: meshkit miss ratio ${r.missRatio.toFixed(4)}, ${fmt(r.requestsPerSecond / 1e6)} M req/s` +
            (c ? `; cachesim ${c.missRatio.toFixed(4)}, ${fmt(c.requestsPerSecond / 1e6)} M req/s; ratio ${fmt(r.requestsPerSecond / c.requestsPerSecond)}` : "")
        )
      }
    }
  }
  const problems: string[] = []
  const rows: Row[] = []
  for (const [key, xs] of samples) {
    for (const x of xs) {
      if (!x.cachesim) continue
      if (x.cachesim.requests !== x.requests) problems.push(`${key}: ${x.requests} requests replayed, cachesim ${x.cachesim.requests}`)
      if (x.missRatio.toFixed(4) !== x.cachesim.missRatio.toFixed(4)) problems.push(`${key}: miss ratio ${x.missRatio.toFixed(4)} ≠ cachesim's ${x.cachesim.missRatio.toFixed(4)}`)
    }
    const first = xs[0]!
    const ratios = xs.filter((x) => x.cachesim).map((x) => x.requestsPerSecond / x.cachesim!.requestsPerSecond)
    rows.push({
      ...first,
      requestsPerSecond: median(xs.map((x) => x.requestsPerSecond)),
      ...(first.cachesim ? { cachesim: { ...first.cachesim, requestsPerSecond: median(xs.map((x) => x.cachesim!.requestsPerSecond)) }, ratio: median(ratios) } : {})
    })
  }
  for (const x of rows) if (x.ratio !== undefined && x.ratio < MIN_RATIO) problems.push(`${x.file} ${x.policy}: ${fmt(x.ratio)} × cachesim's throughput (median of ${rounds}), below ${MIN_RATIO}`)
  const load1 = loadAverage1m()
  const group = "replay-speed"
  const withRef = rows.filter((x) => x.cachesim)
  const figures = [
    figureOf({ name: "oracleReplayMReqPerSec", group, unit: "M req/s", better: "higher", threshold: null, description: "meshkit ideal lru/fifo on an oracleGeneral trace (plain and .zst), decoding included" }, rows.map((x) => x.requestsPerSecond / 1e6)),
    figureOf(
      { name: "oracleReplayVsCachesim", group, unit: "× cachesim", better: "higher", threshold: null, target: { op: ">=", value: MIN_RATIO, source: "simulator issue" }, description: "meshkit req/s ÷ libCacheSim cachesim req/s, same file, same run (the lowest of lru/fifo × plain/.zst is the one that counts)" },
      withRef.length > 0 ? [Math.min(...withRef.map((x) => x.ratio!))] : []
    ),
    figureOf(
      { name: "zstdDecodeVsFzstd", group, unit: "× fzstd", better: "higher", threshold: null, description: "decompressing the .zst alone: the WASM zstd decoder's records/s ÷ pure-JS fzstd's, same run" },
      decode.wasm.map((w, i) => w / decode.fzstd[i]!)
    )
  ].filter((f): f is Figure => f !== undefined)
  const decodeText =
    decode.wasm.length > 0
      ? `Decompression alone (.zst, no record decoding, medians): zstd's decoder as WASM (zstddec) ${fmt(median(decode.wasm) / 1e6)} M records/s, pure-JS fzstd ${fmt(median(decode.fzstd) / 1e6)} M records/s (${fmt(median(decode.wasm.map((w, i) => w / decode.fzstd[i]!)))}×). `
      : `The WASM zstd decoder could not be loaded (${inUse.fallbackReason ?? "unknown reason"}): .zst went through fzstd. `
  const section: Section = {
    heading: "Replay speed against libCacheSim",
    text:
      `Ideal mode, one cache of ${fmt(capacity / 2 ** 30)} GiB (10 % of the ${fmt(trace.uniqueBytes / 2 ** 30)} GiB working set), ${trace.requests} requests over ${trace.objects} objects (seeded Zipf 0.9, sizes 1 KiB – 1 MiB). ` +
      (binary !== undefined
        ? `Reference: libCacheSim's cachesim (${binary}), run beside meshkit on the same file (${rounds} rounds alternating who goes first; medians), its own single-cache throughput. `
        : "cachesim was not given (--cachesim PATH or MESHKIT_CACHESIM): meshkit alone. ") +
      `Requests per second: requests ÷ the replay's wall time in one thread, reading and decompression included, start-up excluded. ` +
      decodeText +
      `Load average ${load0} → ${load1}.` +
      (problems.length > 0 ? ` FAILED: ${problems.join("; ")}.` : ""),
    table: {
      columns: ["file", "policy", "requests", "miss ratio", "cachesim miss ratio", "equal", "M req/s", "cachesim M req/s", "ratio"],
      rows: rows.map((x) => [
        x.file,
        x.policy,
        x.requests,
        x.missRatio.toFixed(4),
        x.cachesim ? x.cachesim.missRatio.toFixed(4) : "–",
        x.cachesim ? (x.missRatio.toFixed(4) === x.cachesim.missRatio.toFixed(4) ? "✓" : "✗") : "–",
        fmt(x.requestsPerSecond / 1e6),
        x.cachesim ? fmt(x.cachesim.requestsPerSecond / 1e6) : "–",
        x.ratio !== undefined ? fmt(x.ratio) : "–"
      ])
    }
  }
  if (problems.length > 0) {
    for (const p of problems) ctx.progress(p)
    throw new Error(problems.join("; "))
  }
  return { figures, notes: binary === undefined ? ["replay-speed: cachesim was not given (--cachesim PATH or MESHKIT_CACHESIM): meshkit measured alone"] : [], sections: [section] }
}
