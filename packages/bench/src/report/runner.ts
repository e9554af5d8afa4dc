import { messageOf } from "../harness/message.js"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, dirname, join, resolve } from "node:path"
import { renderHtml, renderMarkdown, type ReportSpec, type Section } from "@meshkit/report"
import { fmt } from "../compare/compare.js"
import { meetsTarget, type BenchReport, type Figure } from "./figures.js"
import { loadAverage1m, machineFacts } from "./machine.js"
import type { Part, PartName } from "./parts.js"

export interface BenchOptions {
  readonly quick: boolean
  readonly out: string
  readonly json: boolean
  readonly parts: ReadonlyArray<PartName>
  readonly command: string
  /** libCacheSim's cachesim for the replay-speed part (else MESHKIT_CACHESIM) */
  readonly cachesim?: string
}

const load: Record<PartName, () => Promise<Part>> = {
  policy: async () => (await import("../policy/policy-part.js")).policyPart,
  sim: async () => (await import("../sim/sim-part.js")).simPart,
  hit: async () => (await import("../hit-path/hit-path.js")).hitPathPart,
  cold: async () => (await import("../cold-start/cold-start.js")).coldStartPart,
  density: async () => (await import("../density/density.js")).densityPart,
  churn: async () => (await import("../density/churn.js")).churnPart,
  cluster: async () => (await import("../cluster/cluster-part.js")).clusterPart,
  trees: async () => (await import("../trees/trees-part.js")).treesPart,
  batching: async () => (await import("../batching/batching.js")).batchingPart,
  "replay-speed": async () => (await import("../replay-speed/replay-speed-part.js")).replaySpeedPart
}

export const runBench = async (o: BenchOptions): Promise<number> => {
  const started = Date.now()
  const machine = machineFacts(new Date(started))
  const progress = (line: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}\n`)
  const workDir = mkdtempSync(join(tmpdir(), "meshkit-bench-"))
  const figures: Figure[] = []
  const notes: string[] = []
  const sections: Section[] = []
  let failed = false
  progress(`${o.quick ? "quick" : "full"} run: ${o.parts.join(", ")} on ${machine.cpuModel} × ${machine.cores}, load average ${machine.loadAverage1m}`)
  try {
    for (const name of o.parts) {
      progress(`${name}: start`)
      try {
        const r = await (await load[name]())({ quick: o.quick, workDir, progress: (l) => progress(`${name}: ${l}`), ...(o.cachesim !== undefined ? { cachesim: o.cachesim } : {}) })
        figures.push(...r.figures)
        notes.push(...r.notes)
        sections.push(...r.sections)
      } catch (e) {
        failed = true
        const why = `${name}: failed: ${messageOf(e)}`
        notes.push(why)
        progress(why)
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true })
  }
  const outFile = resolve(o.out)
  const report: BenchReport = {
    format: "meshkit-bench/1",
    name: basename(outFile).replace(/\.json$/, ""),
    quick: o.quick,
    command: o.command,
    machine: { ...machine, loadAverage1mAtEnd: loadAverage1m() },
    wallSeconds: Math.round((Date.now() - started) / 100) / 10,
    figures,
    notes
  }
  const spec = reportSpec(report, sections)
  mkdirSync(dirname(outFile), { recursive: true })
  const stem = outFile.replace(/\.json$/, "")
  writeFileSync(outFile, JSON.stringify(report, null, 2) + "\n")
  writeFileSync(`${stem}.md`, renderMarkdown(spec))
  writeFileSync(`${stem}.html`, renderHtml(spec))
  progress(`done in ${report.wallSeconds} s: ${outFile} (+ .md, .html)`)
  if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + "\n")
  else process.stdout.write(renderMarkdown(spec))
  const missed = figures.filter((f) => f.target?.enforced === true && meetsTarget(f) === false)
  for (const f of missed) progress(`goal missed: ${f.name} = ${fmt(f.value)} ${f.unit}, goal ${targetText(f)} (${f.target!.source})`)
  return failed || missed.length > 0 ? 1 : 0
}

const targetText = (f: Figure): string => (f.target ? `${f.target.op === ">=" ? "≥" : "≤"} ${fmt(f.target.value)} ${f.unit}`.trim() : "")

const reportSpec = (r: BenchReport, sections: ReadonlyArray<Section>): ReportSpec => {
  const withTargets = r.figures.filter((f) => f.target)
  const summary: Section = {
    heading: "Goals",
    text: withTargets.length === 0 ? "No figure with a goal was measured in this run." : "The figures the issues set goals for, measured in this run.",
    ...(withTargets.length > 0
      ? {
          table: {
            columns: ["figure", "value", "spread", "goal", "source", "met"],
            rows: withTargets.map((f) => [f.name, `${fmt(f.value)} ${f.unit}`, f.spread === null ? "–" : `± ${fmt(f.spread)}`, targetText(f), f.target!.source, meetsTarget(f) ? "✓" : "✗"]),
            align: ["left", "right", "right", "right", "left", "left"]
          }
        }
      : {})
  }
  const all: Section = {
    heading: "All figures",
    text: "Median over repeats; spread is half the range of the repeats. Threshold: how far a figure may move against its better direction before `meshkit bench compare` fails.",
    table: {
      columns: ["figure", "value", "spread", "repeats", "better", "threshold"],
      rows: r.figures.map((f) => [
        f.name,
        `${fmt(f.value)} ${f.unit}`,
        f.spread === null ? "–" : `± ${fmt(f.spread)}`,
        f.repeats ?? 1,
        f.better,
        f.threshold === null ? "not gated" : f.thresholdKind === "absolute" ? `${fmt(f.threshold)} ${f.unit}` : `${fmt(f.threshold * 100)} %`
      ]),
      align: ["left", "right", "right", "right", "left", "right"]
    }
  }
  const notes: Section[] = r.notes.length > 0 ? [{ heading: "Notes", text: r.notes.join("\n\n") }] : []
  return {
    title: `meshkit benchmark${r.quick ? " (quick)" : ""}`,
    subtitle: r.name,
    generatedAt: r.machine.date,
    facts: [
      ["machine", `${r.machine.cpuModel} × ${r.machine.cores} cores, ${fmt(r.machine.totalMemoryBytes / 2 ** 30)} GiB`],
      ["node", `${r.machine.node} (${r.machine.platform})`],
      ["load average (1 min) at start / end", `${r.machine.loadAverage1m} / ${r.machine.loadAverage1mAtEnd ?? "–"}`],
      ["command", r.command],
      ["wall time", `${r.wallSeconds} s`]
    ],
    sections: [summary, ...sections, all, ...notes]
  }
}
