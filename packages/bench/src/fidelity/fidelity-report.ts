import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { writeReport, type ReportSpec } from "@meshkit/report"
import { fmt } from "../compare/compare.js"
import type { FidelityResult } from "./fidelity.js"
import { machineFacts } from "../report/machine.js"
import { COMPONENTS } from "./decomposition.js"

const MIB = 1024 ** 2

const rows = (r: FidelityResult): Array<[string, string, string, string, string]> => {
  const pct = (x: number) => `${fmt(x * 100)} %`
  const rel = (s: number, q: number) => (q === 0 ? "–" : `${s >= q ? "+" : "−"}${fmt((Math.abs(s - q) / q) * 100)} %`)
  const u = r.simUnlimitedThreads
  return [
    ["hit ratio", pct(r.real.hitRatio), pct(r.sim.hitRatio), `${r.sim.hitRatio >= r.real.hitRatio ? "+" : "−"}${fmt(Math.abs(r.sim.hitRatio - r.real.hitRatio) * 100)} points`, pct(u.hitRatio)],
    ["cold starts", String(r.real.coldStarts), String(r.sim.coldStarts), rel(r.sim.coldStarts, r.real.coldStarts), String(u.coldStarts)],
    ["loads", String(r.real.loads), String(r.sim.loads), rel(r.sim.loads, r.real.loads), String(u.loads)],
    ["p50 latency (µs)", fmt(r.real.latencyUs.p50), fmt(r.sim.latencyUs.p50), rel(r.sim.latencyUs.p50, r.real.latencyUs.p50), fmt(u.latencyUs.p50)],
    ["p99 latency (µs)", fmt(r.real.latencyUs.p99), fmt(r.sim.latencyUs.p99), rel(r.sim.latencyUs.p99, r.real.latencyUs.p99), fmt(u.latencyUs.p99)]
  ]
}

/** the latency decomposition, real vs sim, one row per component (decomposition.ts) */
export const decompositionRows = (r: FidelityResult): Array<[string, string, string, string]> => {
  const d = r.decomposition
  if (d === undefined) return []
  const ms = (x: number) => `${fmt(x)} ms`
  const rel = (s: number, q: number) => (q === 0 ? "–" : `${s >= q ? "+" : "−"}${fmt((Math.abs(s - q) / q) * 100)} %`)
  const row = (label: string, a: number, b: number): [string, string, string, string] => [label, ms(a), ms(b), rel(b, a)]
  return [
    row("p99 latency", d.real.p99Ms, d.sim.p99Ms),
    row("mean latency", d.real.meanMs, d.sim.meanMs),
    ["cold starts (share of requests)", `${fmt(d.real.coldShare * 100)} %`, `${fmt(d.sim.coldShare * 100)} %`, rel(d.sim.coldShare, d.real.coldShare)],
    ...COMPONENTS.map((c) => row(`${c.label}, ${c.unit}`, d.real[c.key], d.sim[c.key])),
    row("service (calibrated execution + overhead), per request", d.real.serviceMs, d.sim.serviceMs)
  ]
}

export const decompositionText = (r: FidelityResult): string => {
  const d = r.decomposition
  if (d === undefined) return ""
  return (
    `Attribution: ${d.attribution.text}. Real side only: per request ${fmt(d.real.inServerMs ?? 0)} ms in the server's handler once the model is ready and ${fmt(d.real.outsideMs ?? 0)} ms outside it (client, network, waiting for the event loop), slot queue ${fmt(d.real.slotQueueMs ?? 0)} ms, ` +
    `server event-loop delay p99 ${fmt(d.real.eventLoopP99Ms ?? 0)} ms, replay client send lag p99 ${fmt(d.real.sendLagP99Ms ?? 0)} ms.`
  )
}

const goalText = (r: FidelityResult): string =>
  r.cluster === undefined
    ? `Goal (hit ratio within 2 points, p99 within 20 %): ${r.goal.met ? "met ✓" : "not met ✗"} — hit ratio off by ${fmt(r.goal.hitRatioPoints)} points, p99 off by ${fmt(r.goal.p99RelativeError * 100)} %.`
    : `Goal (hit ratio within 2 points, loads within 10 %, p99 within 20 %): ${r.goal.met ? "met ✓" : "not met ✗"} — hit ratio off by ${fmt(r.goal.hitRatioPoints)} points, loads off by ${fmt(r.cluster.loadsRelativeError * 100)} %, p99 off by ${fmt(r.goal.p99RelativeError * 100)} %. Copies: not compared (${r.cluster.note}).`

const clusterText = (r: FidelityResult): string => {
  const c = r.cluster
  if (c === undefined) return ""
  return (
    `Cluster: ${c.instances} instances of ${fmt(c.memoryPerInstanceBytes / MIB)} MiB, maxCopies ${c.policies.maxCopies}, placement ${JSON.stringify(c.policies.placement)}, routing ${JSON.stringify(c.policies.routing)}, scaling ${JSON.stringify(c.policies.scaling)}; ` +
    `loads real ${c.real.loads} (per instance ${c.real.loadsPerInstance.join(" / ")}) vs sim ${c.sim.loads}; ` +
    `real peak copies of one model ${c.real.peakCopies}${c.real.peakCopiesModel ? ` (${c.real.peakCopiesModel})` : ""}, peak copies in the cluster ${c.real.peakTotalCopies} (${c.real.copySamples} samples of GET /v1/models); sim copies: not exposed.`
  )
}

const calibrationText = (r: FidelityResult): string => {
  const c = r.calibration
  return (
    `Calibrated from the real run: load = ${fmt(c.loadFixedMs)} ms + size ÷ ${fmt(c.loadBytesPerSecond / MIB)} MiB/s (${loadSourceText(r)}), ` +
    `each load × a lognormal factor of mean 1 and σ ${fmt(c.loadSigma)} (the spread of the real loads around the fit); requests arrive in the simulator when the replay client actually sent them; the server's main thread got ${fmt(c.cpuShare * 100)} % of a core while runnable during the replay (schedstat), so CPU costs measured after it (loads as ${c.costsFrom.loads}, execution as ${c.costsFrom.exec}) are divided by that share; ` +
    `unload ${fmt(c.unloadMs)} ms (mean, /metrics); model size in memory = ${fmt(c.sizePerFileByte)} × file size + ${fmt(c.sessionOverheadBytes / 1024)} KiB (sizes the server measured); ` +
    `execution holds the runtime ${fmt(c.execMsAt1MiB)} ms at 1 MiB + ${fmt(c.execMsPerMiB)} ms per MiB (the server's CPU time per request with 8 connections, after the replay), lognormal σ ${fmt(c.execSigma)}; ` +
    `plus ${fmt(c.requestOverheadMs)} ms per request outside the runtime (single-request latency − the above: network, client, HTTP).`
  )
}

const loadSourceText = (r: FidelityResult): string => {
  const c = r.calibration
  const inRun = `${fmt(c.inRunLoad.loadFixedMs)} ms + size ÷ ${fmt(c.inRunLoad.loadBytesPerSecond / MIB)} MiB/s, σ ${fmt(c.inRunLoad.loadSigma)}`
  const alone = c.isolatedLoad === undefined ? "" : `; ${c.isolatedSamples} loads of the calibration models timed one at a time after the replay fit ${fmt(c.isolatedLoad.loadFixedMs)} ms + size ÷ ${fmt(c.isolatedLoad.loadBytesPerSecond / MIB)} MiB/s, σ ${fmt(c.isolatedLoad.loadSigma)}`
  if (c.loadSource === "isolated") return `least squares over ${c.loadSamples} loads of the calibration models timed one at a time after the replay; the replay's own loads, which include their wait for the event loop, fit ${inRun}`
  return c.loadLevel === "in-run-hold"
    ? `the shape of the replay's own loads, least squares over ${c.loadSamples} models' last load (${inRun}, their wait for the event loop included), with the fixed part set so that the mean over the replay's loads is the JS thread's measured hold per load${alone}`
    : `least squares over ${c.loadSamples} models' last measured load${alone}`
}

const diagnosticsText = (r: FidelityResult): string => {
  const d = r.diagnostics
  return (
    `Where they part: mean load ${fmt(d.realMeanLoadMs)} ms real vs ${fmt(d.simMeanLoadMs)} ms calibrated; ` +
    `a cold-start request waits ${fmt(d.realMeanLoadingWaitMs)} ms for its load on average, real, vs ${fmt(d.simMeanLoadingWaitMs)} ms simulated; ` +
    `mean unload ${fmt(d.realMeanUnloadMs)} ms; the JS thread held ${fmt(d.realLoadHoldMs)} ms per load and ${fmt(d.realUnloadHoldMs)} ms per unload (session create / release); replay client send lag p99 ${fmt(r.real.sendLagMsP99)} ms.`
  )
}

export const fidelityText = (r: FidelityResult): string => {
  const lines = [
    `meshkit fidelity: ${r.scenario}, ${r.settings.requests} requests over ${r.settings.models} models (first ${r.settings.minutes} trace minutes, ×${r.settings.compress} faster), ${r.settings.policy}, memory ${fmt(r.settings.memoryBytes / MIB)} MiB, ` +
      `server runtime workers ${r.settings.runtimeWorkers}, simulator runtime threads ${r.settings.simRuntimeThreads === 0 ? "unlimited" : r.settings.simRuntimeThreads}`,
    "",
    `${"".padEnd(18)} ${"real".padStart(12)} ${"sim".padStart(12)}   ${"difference".padEnd(16)} ${"sim, threads unlimited".padStart(22)}`,
    ...rows(r).map(([k, a, b, d, u]) => `${k.padEnd(18)} ${a.padStart(12)} ${b.padStart(12)}   ${d.padEnd(16)} ${u.padStart(22)}`),
    "",
    goalText(r),
    ...(r.cluster === undefined ? [] : [clusterText(r)]),
    diagnosticsText(r),
    ...(r.decomposition === undefined
      ? []
      : ["", "latency decomposition    real        sim         sim − real", ...decompositionRows(r).map(([k, a, b, d]) => `  ${k.padEnd(70)} ${a.padStart(10)} ${b.padStart(10)}   ${d}`), decompositionText(r)]),
    calibrationText(r),
    ""
  ]
  return lines.join("\n")
}

export const writeFidelityReport = async (r: FidelityResult, dir: string, command: string, started: Date) => {
  const machine = machineFacts(started)
  const spec: ReportSpec = {
    title: `Simulator fidelity: ${r.scenario}`,
    subtitle: `real meshkit server vs simulator on the same ${r.settings.requests} requests`,
    generatedAt: started.toISOString(),
    facts: [
      ["machine", `${machine.cpuModel} × ${machine.cores} cores, Node ${machine.node}`],
      ["command", command],
      ["window", `first ${r.settings.minutes} trace minutes, ×${r.settings.compress} time compression`],
      ["models", `${r.settings.models} (sizes ÷ ${r.settings.sizeScale})`],
      ["memory", `${fmt(r.settings.memoryBytes / MIB)} MiB, eviction ${r.settings.policy}, ${r.settings.maxConcurrentLoads} load slots`],
      ["runtime", `server --runtime-workers ${r.settings.runtimeWorkers}; simulator runtimeThreads ${r.settings.simRuntimeThreads === 0 ? "unlimited" : r.settings.simRuntimeThreads}`]
    ],
    sections: [
      {
        heading: "Side by side",
        text: `${goalText(r)}\n\nHit ratio = 1 − requests that triggered a load ÷ requests; cold starts = requests that waited for a load; latency = arrival to response.`,
        table: { columns: ["", "real", "sim", "sim − real", "sim without the runtime-thread model"], rows: rows(r), align: ["left", "right", "right", "right", "right"] },
        charts: [
          {
            id: "fidelity-latency-cdf",
            title: "Latency CDF",
            xLabel: "latency (µs)",
            yLabel: "fraction of requests ≤",
            xLog: true,
            kind: "step",
            series: [
              { name: "real server", points: r.series.realCdf },
              { name: "simulator", points: r.series.simCdf },
              ...(r.settings.simRuntimeThreads === 0 ? [] : [{ name: "simulator, runtime threads unlimited", points: r.series.simUnlimitedCdf }])
            ]
          }
        ]
      },
      ...(r.cluster === undefined ? [] : [{ heading: "Cluster", text: clusterText(r) }]),
      ...(r.decomposition === undefined
        ? []
        : [
            {
              heading: "Where the latency goes",
              text: `${decompositionText(r)}\n\nLoad wait: a cold-start request's wait for its model (real: from the handler's entry, /metrics; sim: from arrival). Queueing: a request's mean latency beyond its load wait and its calibrated service time (waiting for the runtime thread, the event loop, a slot).`,
              table: { columns: ["", "real", "sim", "sim − real"], rows: decompositionRows(r), align: ["left", "right", "right", "right"] as const }
            }
          ]),
      { heading: "Calibration", text: `${calibrationText(r)}\n\n${diagnosticsText(r)}` },
      {
        heading: "Real run",
        text: `Responses by status: ${Object.entries(r.real.statuses).map(([k, v]) => `${k}: ${v}`).join(", ")}; connection errors: ${r.real.errors}; wall time ${fmt(r.real.wallSeconds)} s; the replay client's own send lag p99 ${fmt(r.real.sendLagMsP99)} ms.`
      }
    ]
  }
  mkdirSync(dir, { recursive: true })
  const written = await writeReport(dir, spec)
  const { series: _series, ...rest } = r
  writeFileSync(join(dir, "report.json"), JSON.stringify({ ...rest, machine, command }, null, 2) + "\n")
  return written
}
