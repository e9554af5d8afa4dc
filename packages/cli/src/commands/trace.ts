import { statSync, writeFileSync } from "node:fs"
import { extname } from "node:path"
import { renderHtml } from "@meshkit/report"
import {
  azureTrace,
  csvTrace,
  isOracleGeneralPath,
  oracleGeneralTrace,
  traceStats,
  traceStatsReport,
  traceStatsRows,
  writeCsvTrace,
  writeOracleGeneral,
  type Trace
} from "@meshkit/sim"
import { parse, UsageError } from "../args.js"

const help = `usage: meshkit trace convert IN OUT [--from csv|azure|oracleGeneral]
       meshkit trace stats FILE [--from F] [--json] [--html REPORT.html]

convert: rewrites a trace in another format, chosen by OUT's name: .csv (meshkit's CSV:
  time_ms,model,size_bytes,tenant,exec_ms) or .oracleGeneral / .oracleGeneral.zst (libCacheSim's
  24-byte binary records, zstd-compressed for .zst). IN is a CSV file, an Azure Functions 2019
  folder, or an oracleGeneral file (plain or .zst), detected from its name unless --from says.
  oracleGeneral keeps whole seconds, integer ids (others are renumbered) and 32-bit sizes.
stats: requests, objects, bytes, one-hit wonders, popularity skew (Zipf exponent) and reuse
  (stack) distances; --html writes the same with a rank-frequency chart and the reuse CDF.

The whole trace is held in memory (20 bytes per request) for the next-access field and stack
distances.`

const FORMATS = ["csv", "azure", "oracleGeneral"] as const
type Format = (typeof FORMATS)[number]

const formatOf = (path: string, given: string | undefined): Format => {
  if (given !== undefined) {
    if (!(FORMATS as ReadonlyArray<string>).includes(given)) throw new UsageError(`--from must be csv, azure or oracleGeneral, got "${given}"`)
    return given as Format
  }
  let dir = false
  try {
    dir = statSync(path).isDirectory()
  } catch {
    // a missing file is reported by the reader, with its own message
  }
  return dir ? "azure" : isOracleGeneralPath(path) ? "oracleGeneral" : "csv"
}

const open = (path: string, f: Format): Trace =>
  f === "csv" ? csvTrace({ path }) : f === "azure" ? azureTrace({ dir: path }) : oracleGeneralTrace({ path })

export const run = async (argv: string[]): Promise<number> => {
  const [sub, ...rest] = argv
  if (sub === "--help" || sub === "-h") {
    console.log(help)
    return 0
  }
  if (sub !== "convert" && sub !== "stats") throw new UsageError(`${sub === undefined ? "give a subcommand" : `unknown subcommand "trace ${sub}"`}: convert or stats`)
  const a = parse(rest, { from: { type: "string" }, json: { type: "boolean" }, html: { type: "string" } }, help, true)
  if (!a) return 0
  const files = a.positionals
  if (sub === "convert") {
    if (files.length !== 2) throw new UsageError("trace convert needs IN and OUT")
    const [input, out] = files as [string, string]
    const trace = open(input, formatOf(input, a.values.from))
    const t0 = performance.now()
    if (/\.csv$/i.test(out)) {
      const r = await writeCsvTrace(trace, out)
      process.stderr.write(`wrote ${out}: ${r.requests.toLocaleString("en-US")} requests, ${r.models.toLocaleString("en-US")} models (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`)
    } else if (isOracleGeneralPath(out)) {
      const r = await writeOracleGeneral(trace, out, { zstd: /\.zst$/i.test(out) })
      process.stderr.write(`wrote ${out}: ${r.requests.toLocaleString("en-US")} requests, ${r.models.toLocaleString("en-US")} objects${r.renumbered ? " (ids that are not integers were renumbered)" : ""} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`)
    } else {
      throw new UsageError(`cannot tell the output format from "${out}" (${extname(out) || "no extension"}): name it .csv, .oracleGeneral or .oracleGeneral.zst`)
    }
    return 0
  }
  if (files.length !== 1) throw new UsageError("trace stats needs one trace")
  const path = files[0]!
  const stats = await traceStats(open(path, formatOf(path, a.values.from)))
  if (a.values.html) writeFileSync(a.values.html, renderHtml(traceStatsReport(path, stats, new Date().toISOString())))
  if (a.values.json) console.log(JSON.stringify(stats))
  else for (const [k, v] of traceStatsRows(stats)) console.log(`${k.padEnd(48)} ${v}`)
  return 0
}
