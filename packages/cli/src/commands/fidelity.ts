import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parse, UsageError } from "../args.js"

const help = `usage: meshkit fidelity [SCENARIO.yaml] [--json] [options]

Replays the scenario's trace (default scenarios/default.yaml) against a real meshkit server —
real ONNX models at the scenario's sizes ÷ --size-scale, real loads and evictions — then
calibrates the simulator from the server's measured load, unload and execution times and model
sizes, replays the same requests in the simulator, and compares: hit ratio, cold starts, p50/p99
latency. Goal: hit ratio within 2 points, p99 within 20 %.

By default the scenario's whole cluster runs as one server (memory = instances × memory per instance,
scaled like the sizes, × --memory-factor for the runtime's memory per file byte).

--instances N (N ≥ 2) runs a real cluster instead: an etcd from PATH and N \`meshkit serve
--etcd\` instances on loopback (as \`meshkit cluster up\`), each with the scenario's memory per
instance (scaled alike), its maxCopies, placement, routing and scaling; the requests go to the
instances round-robin. The simulator then runs N instances with the same policies. Adds loads
(per instance) and the real peak copy count to the output; goal adds loads within 10 %.

options:
  --repeat N          N consecutive real runs (default 1), each with its simulator calibrated
                      from that run: prints a row per run (real p99, sim p99, error, and for a
                      missed run the latency component the simulator gets most wrong), the
                      spread (min / median / max) and how many met the goal; exits 1 when fewer
                      than 80 % did (8 of 10)
  --json              print {"sim": {...}, "real": {...}, ...} on stdout (progress on stderr)
  --instances N       real cluster of N instances (default 1: one server for the whole cluster)
  --minutes M         trace minutes to replay, from the start (default 4)
  --compress X        time compression: trace seconds per wall second (default 2)
  --size-scale S      model file size = scenario size ÷ S (default 64)
  --memory-factor F   server bytes per model-file byte (default 2, the runtime's size factor)
  --policy NAME       eviction policy on both sides (default lru)
  --runtime-workers N the server's ONNX runtime worker threads (default 0: on the JS thread)
  --sim-runtime-threads N
                      the simulator's runtime threads (default: the server's workers, or 1
                      for the JS thread; 0 = unlimited, loads and inferences independent)
  --sim-model M       holds (default): loads hold the simulator's runtime thread for the replay's
                      measured JS-thread hold per load, unloads for theirs; legacy: the load fit's
                      own level, unloads hold nothing (the model before the hold measurements)
  --no-slowdown       do not replay the server thread's measured core share over time in the
                      simulator (default: replay it, one factor per 250 ms of the replay)
  --set key=value     override a scenario field, as in meshkit sim
  --out DIR           report folder (default reports/fidelity/<scenario>, or
                      reports/fidelity/<scenario>-<N>-instances with --instances N)
  --dump FILE         write every real request (model, scheduled/sent time, latency µs, status) as CSV
                      (with --repeat, one file per run: FILE-run1.csv, ...)
  --record FILE       keep the real run (its measurements and /metrics) in FILE, to compare the
                      simulator against it again later (with --repeat: FILE-run1.json, ...)
  --from-record FILES no real run: read recorded runs (comma-separated, one run each; several
                      act as a --repeat over them) and simulate each again, on the same scenario
                      and options they were recorded with
  --no-report         do not write the report files`

const simModelOf = (v: string | undefined): { simModel?: "holds" | "legacy" } => {
  if (v === undefined) return {}
  if (v !== "holds" && v !== "legacy") throw new UsageError(`--sim-model must be holds or legacy, got "${v}"`)
  return { simModel: v }
}

export const run = async (argv: string[]): Promise<number> => {
  const a = parse(
    argv,
    {
      json: { type: "boolean" },
      repeat: { type: "string" },
      instances: { type: "string" },
      minutes: { type: "string" },
      compress: { type: "string" },
      "size-scale": { type: "string" },
      "memory-factor": { type: "string" },
      policy: { type: "string" },
      "runtime-workers": { type: "string" },
      "sim-runtime-threads": { type: "string" },
      "sim-model": { type: "string" },
      "no-slowdown": { type: "boolean" },
      set: { type: "string", multiple: true },
      out: { type: "string" },
      dump: { type: "string" },
      record: { type: "string" },
      "from-record": { type: "string" },
      "no-report": { type: "boolean" }
    },
    help,
    true
  )
  if (!a) return 0
  if (a.positionals.length > 1) throw new UsageError(`one scenario at most, got ${a.positionals.join(" ")}`)
  const num = (flag: string, v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt
    const n = Number(v)
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${flag} must be a positive number, got "${v}"`)
    return n
  }
  const int = (flag: string, v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${flag} must be a whole number ≥ 0, got "${v}"`)
    return n
  }
  const scenarioFile = a.positionals[0] ?? "scenarios/default.yaml"
  const instances = int("instances", a.values.instances, 1)
  const fromRecords = a.values["from-record"] === undefined ? undefined : a.values["from-record"].split(",").filter((f) => f !== "")
  if (fromRecords !== undefined && fromRecords.length === 0) throw new UsageError(`--from-record needs at least one file`)
  if (fromRecords !== undefined && a.values.repeat !== undefined) throw new UsageError(`--from-record replaces --repeat: give one recorded file per run`)
  const repeat = fromRecords?.length ?? int("repeat", a.values.repeat, 1)
  if (repeat < 1) throw new UsageError(`--repeat must be 1 or more, got "${a.values.repeat}"`)
  if (instances < 1) throw new UsageError(`--instances must be 1 or more, got "${a.values.instances}"`)
  if (instances > 1 && (fromRecords !== undefined || a.values.record !== undefined)) throw new UsageError(`--record and --from-record work with one server only (not with --instances)`)
  const opts = {
    minutes: num("minutes", a.values.minutes, 4),
    compress: num("compress", a.values.compress, 2),
    sizeScale: num("size-scale", a.values["size-scale"], 64),
    memoryFactor: num("memory-factor", a.values["memory-factor"], 2),
    policy: a.values.policy ?? "lru",
    runtimeWorkers: int("runtime-workers", a.values["runtime-workers"], 0),
    ...(instances > 1 ? { instances } : {}),
    ...(simModelOf(a.values["sim-model"])),
    ...(a.values["no-slowdown"] ? { slowdown: false } : {}),
    ...(a.values.record !== undefined ? { recordFile: a.values.record } : {}),
    ...(fromRecords !== undefined ? { fromRecords } : {}),
    ...(a.values["sim-runtime-threads"] !== undefined ? { simRuntimeThreads: int("sim-runtime-threads", a.values["sim-runtime-threads"], 0) } : {})
  }
  const { findPolicy } = await import("@meshkit/core")
  const p = findPolicy("eviction", opts.policy)
  if (!p) throw new UsageError(`--policy: unknown eviction policy "${opts.policy}" (see meshkit policies)`)
  if (p.offline) throw new UsageError(`--policy: "${opts.policy}" needs the future (simulator only); the real server cannot run it`)

  const started = Date.now()
  const progress = (line: string) => process.stderr.write(`[fidelity ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}\n`)
  const workDir = mkdtempSync(join(tmpdir(), "meshkit-fidelity-"))
  const { runFidelity, writeFidelityReport, fidelityText, runFidelityRepeated, writeRepeatedReport, repeatedText } = await import("@meshkit/bench")
  const outDir = (scenario: string) => a.values.out ?? join("reports", "fidelity", instances > 1 ? `${scenario}-${instances}-instances` : scenario)
  const command = `meshkit fidelity ${argv.join(" ")}`.trim()
  try {
    if (repeat > 1) {
      const rep = await runFidelityRepeated({ scenarioFile, sets: a.values.set ?? [], ...opts, workDir, progress, ...(a.values.dump ? { dumpFile: a.values.dump } : {}) }, repeat)
      if (!a.values["no-report"]) {
        const written = await writeRepeatedReport(rep, outDir(rep.runs[0]!.scenario), command, new Date(started))
        progress(`report: ${written.html} (+ report.md, report.json)`)
      }
      if (a.values.json) {
        const runs = rep.runs.map(({ series: _series, data: _data, ...rest }) => rest)
        process.stdout.write(JSON.stringify({ spread: rep.spread, verdict: rep.verdict, runs }, null, 2) + "\n")
      } else process.stdout.write(repeatedText(rep))
      return rep.verdict.passed ? 0 : 1
    }
    const r = await runFidelity({ scenarioFile, sets: a.values.set ?? [], ...opts, workDir, progress, ...(a.values.dump ? { dumpFile: a.values.dump } : {}) })
    if (!a.values["no-report"]) {
      const written = await writeFidelityReport(r, outDir(r.scenario), command, new Date(started))
      progress(`report: ${written.html} (+ report.md, report.json)`)
    }
    if (a.values.json) {
      const { series: _series, data: _data, ...rest } = r
      process.stdout.write(JSON.stringify(rest, null, 2) + "\n")
    } else {
      process.stdout.write(fidelityText(r))
    }
    return 0
  } catch (e) {
    // a bad scenario is the user's mistake: its message, not a stack
    const { ScenarioError } = await import("@meshkit/sim")
    if (e instanceof ScenarioError) throw new UsageError(e.message)
    throw e
  } finally {
    rmSync(workDir, { recursive: true, force: true })
  }
}
