import { benchCompare, DEFAULT_PARTS, PARTS, runBench, type PartName } from "@meshkit/bench"
import { parse, UsageError } from "../args.js"

const help = `usage: meshkit bench [--quick] [--out FILE] [--json] [--only PARTS] [--cachesim PATH]
       meshkit bench compare BASE.json NEW.json
       meshkit bench compare REPLAY.json          (a replay report with both sides)
       meshkit bench replay SCENARIO [--models DIR] [--against DIR_OR_URL] [--duration S] [--out FILE]
                                                  (see meshkit bench replay --help)

Runs every benchmark and writes FILE (default reports/bench/latest.json) with machine facts,
plus FILE's .md summary and .html report beside it. Progress goes to stderr.

  policy    eviction policy micro-benchmarks (meshkit bench-core), M requests/s relative to lru
  sim       simulator throughput (ideal-mode and full-mode simulated requests per wall second)
  hit       server hit path vs a bare node:http + onnxruntime-node server on the same model,
            64 connections, interleaved repeats (bare, meshkit, bare, meshkit, ...)
  cold      a request on a cold model vs raw InferenceSession.create + first run
  density   1,000 registered 4 MiB models, --memory 256MiB, Zipf request mix: RSS, hit ratio
  churn     60 × 2 MiB models, --memory 32MiB, 8 clients on random models: RSS growth over idle
            (goal: budget + 48 MiB; exit 1 when missed), heap trim on vs off
  cluster   only with --only cluster: 3 instances + etcd; forwarding overhead, drain, failover
  trees     only with --only trees: XGBoost evaluator rows/s vs XGBoost (python3-xgboost) and
            onnxruntime, batch 1/64/1024; miss path of a cold XGBoost model
  batching  only with --only batching: a 4 MiB MLP at 64 connections, --max-batch-size 32 vs off
  replay-speed  only with --only replay-speed: ideal lru/fifo on a 20 M-request oracleGeneral
            trace (plain and .zst) vs libCacheSim's cachesim (--cachesim) on the same file:
            miss ratios must be equal (4 decimals), req/s at least 0.5x cachesim's

Figures are medians over repeats with their spread (half the range), and ratios against a
baseline measured in the same run wherever there is one, so a busy machine moves them less.

options:
  --quick        fewer and shorter repeats (about 3 minutes on 2 cores)
  --out FILE     report path (.json); .md and .html are written beside it
  --json         print the report JSON on stdout (nothing else goes to stdout)
  --only PARTS   comma-separated subset of: ${PARTS.join(",")}
  --cachesim PATH  libCacheSim's cachesim binary for replay-speed (or env MESHKIT_CACHESIM);
                 without it replay-speed reports meshkit alone

compare: prints a Markdown table (figure, base, new, change, threshold, ✓/✗) and exits 1 when a
gated figure regressed beyond the base file's threshold or is missing, 2 on unreadable input.`

export const run = async (argv: string[]): Promise<number> => {
  if (argv[0] === "compare") return compare(argv.slice(1))
  if (argv[0] === "replay") return (await import("./bench-replay.js")).run(argv.slice(1))
  const a = parse(
    argv,
    { quick: { type: "boolean" }, out: { type: "string" }, json: { type: "boolean" }, only: { type: "string" }, cachesim: { type: "string" } },
    help
  )
  if (!a) return 0
  const only = a.values.only?.split(",").map((s) => s.trim()).filter(Boolean)
  for (const p of only ?? []) if (!PARTS.includes(p as PartName)) throw new UsageError(`--only: unknown part "${p}" (known: ${PARTS.join(", ")})`)
  return runBench({
    quick: a.values.quick ?? false,
    out: a.values.out ?? "reports/bench/latest.json",
    json: a.values.json ?? false,
    parts: (only as PartName[] | undefined) ?? [...DEFAULT_PARTS],
    command: `meshkit bench ${argv.join(" ")}`.trim(),
    ...(a.values.cachesim !== undefined ? { cachesim: a.values.cachesim } : {})
  })
}

const compare = async (argv: string[]): Promise<number> => {
  const a = parse(argv, {}, help, true)
  if (!a) return 0
  // replay reports (meshkit bench replay --out FILE): one file with both sides, or BASE NEW
  const { isReplayFile, replayCompareFiles } = await import("@meshkit/bench")
  if ((a.positionals.length === 1 || a.positionals.length === 2) && isReplayFile(a.positionals[a.positionals.length - 1]!)) {
    return replayCompareFiles(a.positionals, { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) })
  }
  if (a.positionals.length !== 2) throw new UsageError(`bench compare needs two files: BASE.json NEW.json (or one replay report)`)
  const [baseFile, nextFile] = a.positionals as [string, string]
  return benchCompare(baseFile, nextFile, { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) })
}
