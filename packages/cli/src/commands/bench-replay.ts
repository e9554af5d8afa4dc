import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parse, UsageError } from "../args.js"

const help = `usage: meshkit bench replay SCENARIO.yaml [--models DIR] [--against DIR_OR_URL] [--duration S] [--out FILE]

Replays the scenario's trace against a real server started from this checkout (node bin/meshkit.js
serve on a free port) and records latency p50/p99/p99.9 overall and per tenant, hit ratio, cold
starts and errors. With --against, the same requests also go to a second build — another checkout
(its bin/meshkit.js; run npm ci there first) or a running server's URL — interleaved in the same run
(the window is cut into slices, each replayed on both sides in alternating order), then the two
sides are compared against the scenario's thresholds:

  regression: { p99: "+10%", hitRatio: "-1pt", errors: 0 }    # also p50, p999, coldStarts

and the Markdown table is printed (and appended to $GITHUB_STEP_SUMMARY when set), the HTML report
written beside FILE; exit 1 on a regression. \`meshkit bench compare FILE\` judges a saved report again.

options:
  --models DIR         your models: each trace model served as DIR/<model>.onnx or DIR/<model>/model.onnx
                       (default: generated ONNX models at the scenario's sizes ÷ --size-scale)
  --against DIR|URL    the base build to compare with (e.g. a checkout of the base branch)
  --new DIR            the build under test (default: this checkout)
  --duration S         wall seconds each side replays (default 20)
  --minutes M          trace minutes replayed, from the start (default 2): compressed into --duration
  --max-requests N     at most N requests (default 20000)
  --slices K           interleaved slices (default 6)
  --size-scale X       generated model size = scenario size ÷ X (default 64)
  --memory SIZE        the servers' --memory (default: the scenario's cluster memory, scaled like the sizes)
  --eviction NAME|JSON the servers' eviction policy (default: the scenario's first)
  --body FILE          the infer request body (KServe v2 JSON) for --models (default: a [1, 64] FP32 input)
  --set path=value     override a scenario field
  --out FILE           the report (default reports/replay/<scenario>.json; .md/.html beside it)
  --json               print the report JSON on stdout instead of the table`

export const run = async (argv: string[]): Promise<number> => {
  const a = parse(
    argv,
    {
      models: { type: "string" },
      against: { type: "string" },
      new: { type: "string" },
      duration: { type: "string" },
      minutes: { type: "string" },
      "max-requests": { type: "string" },
      slices: { type: "string" },
      "size-scale": { type: "string" },
      memory: { type: "string" },
      eviction: { type: "string" },
      body: { type: "string" },
      set: { type: "string", multiple: true },
      out: { type: "string" },
      json: { type: "boolean" }
    },
    help,
    true
  )
  if (!a) return 0
  if (a.positionals.length !== 1) throw new UsageError(`bench replay needs one scenario file\n\n${help}`)
  const num = (flag: string, v: string | undefined, dflt: number, min: number): number => {
    if (v === undefined) return dflt
    const x = Number(v)
    if (!Number.isFinite(x) || x < min) throw new UsageError(`--${flag}: expected a number ≥ ${min}, got ${JSON.stringify(v)}`)
    return x
  }
  const scenarioFile = a.positionals[0]!
  const { ReplayInputError, reportReplay, runReplay, writeReplayReport } = await import("@meshkit/bench")
  const workDir = mkdtempSync(join(tmpdir(), "meshkit-replay-"))
  try {
    const report = await runReplay({
      scenarioFile,
      sets: a.values.set ?? [],
      ...(a.values.models !== undefined ? { modelsDir: a.values.models } : {}),
      ...(a.values.against !== undefined ? { against: a.values.against } : {}),
      ...(a.values.new !== undefined ? { newBuild: a.values.new } : {}),
      durationSeconds: num("duration", a.values.duration, 20, 1),
      minutes: num("minutes", a.values.minutes, 2, 0.01),
      maxRequests: Math.floor(num("max-requests", a.values["max-requests"], 20_000, 1)),
      slices: Math.floor(num("slices", a.values.slices, 6, 1)),
      sizeScale: num("size-scale", a.values["size-scale"], 64, 1),
      ...(a.values.memory !== undefined ? { memory: a.values.memory } : {}),
      ...(a.values.eviction !== undefined ? { eviction: a.values.eviction } : {}),
      ...(a.values.body !== undefined ? { bodyFile: a.values.body } : {}),
      workDir,
      command: `meshkit bench replay ${argv.join(" ")}`,
      progress: (line) => process.stderr.write(`[replay] ${line}\n`)
    }).catch((e: unknown) => {
      if (e instanceof ReplayInputError) throw new UsageError(e.message)
      throw e
    })
    const out = a.values.out ?? join("reports", "replay", `${report.scenario}.json`)
    writeReplayReport(out, report)
    if (a.values.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
      const { compareReplay } = await import("@meshkit/bench")
      return report.base !== undefined && compareReplay(report).failures.length > 0 ? 1 : 0
    }
    process.stderr.write(`[replay] report: ${out}\n`)
    return await reportReplay(report, out, { stdout: (s) => process.stdout.write(s) })
  } finally {
    rmSync(workDir, { recursive: true, force: true })
  }
}
