import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { writeReport, type ReportSpec } from "@meshkit/report"
import { fmt } from "../compare/compare.js"
import { machineFacts } from "../report/machine.js"
import { decompositionRows, fidelityText } from "./fidelity-report.js"
import type { RepeatedFidelity, Spread } from "./repeat.js"
import type { FidelityResult } from "./types.js"

/** The report of `meshkit fidelity --repeat N`: one row per run, the spread, the verdict. */

const MIB = 1024 ** 2
const ms = (us: number) => fmt(us / 1000)
const signed = (x: number) => `${x >= 0 ? "+" : "−"}${fmt(Math.abs(x) * 100)} %`

const runRows = (rep: RepeatedFidelity): string[][] =>
  rep.runs.map((r, i) => {
    const e = (r.sim.latencyUs.p99 - r.real.latencyUs.p99) / r.real.latencyUs.p99
    const d = r.decomposition
    return [
      String(i + 1),
      ms(r.real.latencyUs.p99),
      ms(r.sim.latencyUs.p99),
      signed(e),
      fmt(r.goal.hitRatioPoints),
      r.goal.met ? "met" : "missed",
      d?.real.eventLoopP99Ms !== undefined ? fmt(d.real.eventLoopP99Ms) : "–",
      fmt(r.real.sendLagMsP99),
      r.goal.met ? "" : (d?.attribution.text ?? "")
    ]
  })

const RUN_COLUMNS = ["run", "real p99 (ms)", "sim p99 (ms)", "sim − real", "hit ratio Δ (points)", "goal", "server event-loop p99 (ms)", "client send lag p99 (ms)", "attribution (missed runs)"]

const spreadRow = (label: string, s: Spread, f: (x: number) => string): string[] => [label, f(s.min), f(s.median), f(s.max)]

const spreadRows = (rep: RepeatedFidelity): string[][] => [
  spreadRow("real p99 (ms)", rep.spread.realP99Us, ms),
  spreadRow("sim p99 (ms)", rep.spread.simP99Us, ms),
  spreadRow("p99 error, sim − real", rep.spread.p99SignedError, signed),
  spreadRow("p99 error, |sim − real| ÷ real", rep.spread.p99RelativeError, (x) => `${fmt(x * 100)} %`),
  spreadRow("hit ratio Δ (points)", rep.spread.hitRatioPoints, fmt)
]

/** how often each component was named for a missed run */
const attributionCounts = (rep: RepeatedFidelity): string => {
  const counts = new Map<string, number>()
  for (const r of rep.runs) {
    if (r.goal.met || r.decomposition === undefined) continue
    const k = r.decomposition.attribution.component ?? "nothing stands out"
    counts.set(k, (counts.get(k) ?? 0) + 1)
  }
  return counts.size === 0 ? "no run missed" : [...counts].map(([k, n]) => `${k}: ${n}`).join(", ")
}

export const repeatedText = (rep: RepeatedFidelity): string => {
  const pad = (cells: string[], w: number[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padStart(w[i]!))).join("  ")
  const w = [3, 13, 12, 10, 8, 6, 10, 10]
  const first = rep.runs[0]!
  return [
    `meshkit fidelity --repeat ${rep.runs.length}: ${first.scenario}, ${first.settings.requests} requests over ${first.settings.models} models, ${first.settings.policy}, memory ${fmt(first.settings.memoryBytes / MIB)} MiB; each run's simulator calibrated from that run`,
    "",
    pad(["run", "real p99 ms", "sim p99 ms", "sim−real", "hitΔ pt", "goal", "evloop p99", "send lag", "attribution (missed runs)"], w),
    ...runRows(rep).map((r) => pad([r[0]!, r[1]!, r[2]!, r[3]!, r[4]!, r[5]!, r[6]!, r[7]!, r[8]!], w)),
    "",
    `spread over ${rep.runs.length} runs     min        median     max`,
    ...spreadRows(rep).map(([k, a, b, c]) => `  ${k!.padEnd(32)} ${a!.padStart(9)} ${b!.padStart(10)} ${c!.padStart(9)}`),
    "",
    rep.verdict.text,
    `attributions of the missed runs: ${attributionCounts(rep)}`,
    ""
  ].join("\n")
}

export const writeRepeatedReport = async (rep: RepeatedFidelity, dir: string, command: string, started: Date) => {
  const machine = machineFacts(started)
  const first: FidelityResult = rep.runs[0]!
  const spec: ReportSpec = {
    title: `Simulator fidelity, ${rep.runs.length} runs: ${first.scenario}`,
    subtitle: `real meshkit server vs simulator on the same ${first.settings.requests} requests, each run calibrated from itself`,
    generatedAt: started.toISOString(),
    facts: [
      ["machine", `${machine.cpuModel} × ${machine.cores} cores, Node ${machine.node}`],
      ["command", command],
      ["window", `first ${first.settings.minutes} trace minutes, ×${first.settings.compress} time compression`],
      ["models", `${first.settings.models} (sizes ÷ ${first.settings.sizeScale})`],
      ["memory", `${fmt(first.settings.memoryBytes / MIB)} MiB, eviction ${first.settings.policy}, ${first.settings.maxConcurrentLoads} load slots`]
    ],
    sections: [
      {
        heading: "Verdict",
        text: `${rep.verdict.text}.\n\nAttributions of the missed runs: ${attributionCounts(rep)}.`,
        table: { columns: ["", "min", "median", "max"], rows: spreadRows(rep), align: ["left", "right", "right", "right"] }
      },
      {
        heading: "Runs",
        text: "One row per run: a fresh server replays the window, the simulator is calibrated from that run's measurements and replays the same requests. A missed run names the latency component the simulator gets most wrong (see each run's decomposition in report.json).",
        table: { columns: RUN_COLUMNS, rows: runRows(rep), align: ["right", "right", "right", "right", "right", "left", "right", "right", "left"] },
        charts: [
          {
            id: "fidelity-p99-by-run",
            title: "p99 latency per run",
            xLabel: "run",
            yLabel: "p99 latency (ms)",
            kind: "line",
            series: [
              { name: "real server", points: rep.runs.map((r, i) => [i + 1, r.real.latencyUs.p99 / 1000] as const) },
              { name: "simulator", points: rep.runs.map((r, i) => [i + 1, r.sim.latencyUs.p99 / 1000] as const) }
            ]
          }
        ]
      },
      ...rep.runs.flatMap((r, i) =>
        r.decomposition === undefined
          ? []
          : [{ heading: `Run ${i + 1}: where the latency goes`, text: r.decomposition.attribution.text, table: { columns: ["", "real", "sim", "sim − real"], rows: decompositionRows(r), align: ["left", "right", "right", "right"] as const } }]
      )
    ]
  }
  mkdirSync(dir, { recursive: true })
  const written = await writeReport(dir, spec)
  const runs = rep.runs.map(({ series: _series, data: _data, ...rest }) => rest)
  writeFileSync(join(dir, "report.json"), JSON.stringify({ spread: rep.spread, verdict: rep.verdict, runs, machine, command }, null, 2) + "\n")
  return written
}

/** every run's own text, for --verbose */
export const runTexts = (rep: RepeatedFidelity): string => rep.runs.map((r, i) => `--- run ${i + 1}\n${fidelityText(r)}`).join("\n")
