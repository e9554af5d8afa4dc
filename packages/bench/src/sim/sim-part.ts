import type { Section } from "@meshkit/report"
import { fmt } from "../compare/compare.js"
import { figureOf, median, type Figure } from "../report/figures.js"
import { cpuNowMs } from "../report/machine.js"
import type { Part } from "../report/parts.js"
import type { IsolatedSim } from "./sim-isolate.js"

/**
 * Simulator throughput (simulated requests per CPU-second) on a pre-materialised trace, so trace
 * generation or parsing is not counted: ideal mode with lru (one cache, zero times) and full mode
 * (8 instances with timing, placement, routing, scaling). The gated figures divide each by the
 * policy core's own lru replay speed measured in the same round: what the simulator adds around
 * the policy, which does not depend on how fast or busy the machine is.
 *
 * With the Azure Functions 2019 sample at hand (MESHKIT_AZURE_DIR, or ../shared/traces from the
 * working directory; it is not shipped), full mode also replays it as scenarios/azure-functions.yaml
 * does (8 × 8 GiB, lru, 120 minutes): its minute boundaries start with a burst of loads, so misses,
 * placements and retries of blocked models weigh far more than on the generated trace. Its rate
 * is divided by the generated trace's full-mode rate of the same round too.
 * The simulations run in worker threads of their own (sim-workloads.ts, sim-isolate.ts), one at a
 * time; the core lru reference runs here.
 */
import { existsSync } from "node:fs"
import { resolve } from "node:path"


/** the Azure sample's folder, or undefined when it is not on this machine */
const azureDir = (): string | undefined => {
  const dir = process.env.MESHKIT_AZURE_DIR ?? resolve(process.cwd(), "../shared/traces/azure-functions-2019-sample")
  return existsSync(dir) ? dir : undefined
}

export const simPart: Part = async (ctx) => {
  const { makeStream, makeReplay } = await import("../policy/eviction-bench.js")
  const { startIsolatedSim } = await import("./sim-isolate.js")
  const rounds = ctx.quick ? 4 : 6
  const requests = ctx.quick ? 500_000 : 2_000_000
  const azDir = azureDir()
  // Each simulation in a worker thread of its own (a fresh V8 isolate), as `meshkit sim` runs each
  // policy's: in one isolate the three share their call sites' type feedback and one heap, and
  // the one timed after the others ran measurably slower (the Azure replay ~10-25 %) than alone.
  ctx.progress(`starting ${azDir === undefined ? 2 : 3} worker threads, one per simulation (each materialises its trace and warms up)`)
  const [idealSim, fullSim, azureSim] = await Promise.all([
    startIsolatedSim({ workload: "ideal", requests }),
    startIsolatedSim({ workload: "full", requests }),
    azDir === undefined ? Promise.resolve(undefined) : startIsolatedSim({ workload: "azure", requests, azureDir: azDir })
  ])
  const stops = () => Promise.all([idealSim.stop(), fullSim.stop(), azureSim?.stop()])
  try {
    return await measure(ctx, rounds, makeStream, makeReplay, idealSim, fullSim, azureSim)
  } finally {
    await stops()
  }
}

const measure = async (
  ctx: Parameters<Part>[0],
  rounds: number,
  makeStream: typeof import("../policy/eviction-bench.js").makeStream,
  makeReplay: typeof import("../policy/eviction-bench.js").makeReplay,
  idealSim: IsolatedSim,
  fullSim: IsolatedSim,
  azureSim: IsolatedSim | undefined
): ReturnType<Part> => {
  ctx.progress(fullSim.describe)
  if (azureSim !== undefined) ctx.progress(azureSim.describe)

  // the reference: lru through ModelCache with nothing around it (bench-core's replay, residents
  // found by model index as the simulator does, not by a Map lookup)
  const stream = makeStream({ models: 12_000, residents: 10_000, alpha: 0.9, length: 1 << 18, seed: 1 })
  const replay = makeReplay("lru", stream, "index")
  replay.step(stream.model.length)
  const coreLru = (): number => {
    const n = 1 << 20
    const t0 = cpuNowMs()
    replay.step(n)
    return n / ((cpuNowMs() - t0) / 1000)
  }
  for (let w = 0; w < 3; w++) coreLru()
  const idealRps: number[] = []
  const fullRps: number[] = []
  const coreRps: number[] = []
  const azureRps: number[] = []
  for (let r = 0; r < rounds; r++) {
    const c = coreLru()
    // ideal mode is fast: several back-to-back replays per sample, so a sample is not a few ms
    const i = await idealSim.round(4)
    const f = await fullSim.round(1)
    coreRps.push(c)
    idealRps.push(i)
    fullRps.push(f)
    // the Azure replay is long (1.4 M requests, most of them around misses): half the rounds
    const a = azureSim !== undefined && r % 2 === 0 ? await azureSim.round(1) : undefined
    if (a !== undefined) azureRps.push(a, f)
    ctx.progress(`round ${r + 1}/${rounds}: core lru ${fmt(c / 1e6)}, ideal lru ${fmt(i / 1e6)}, full (8 instances) ${fmt(f / 1e6)}${a !== undefined ? `, full on azure ${fmt(a / 1e6)}` : ""} M req/s`)
  }
  const group = "sim"
  const figures = [
    // not gated: moves between CPU models (see the module comment)
    figureOf({ name: "simIdealLruVsCore", group, unit: "× core lru", better: "higher", threshold: null, description: "ideal-mode lru simulated req/s ÷ core lru replay req/s, same round" }, idealRps.map((v, i) => v / coreRps[i]!)),
    figureOf({ name: "simFullVsCore", group, unit: "× core lru", better: "higher", threshold: null, description: "full-mode (8 instances) simulated req/s ÷ core lru replay req/s, same round" }, fullRps.map((v, i) => v / coreRps[i]!)),
    figureOf({ name: "simIdealLruMReqPerSec", group, unit: "M req/s", better: "higher", threshold: null, target: { op: ">=", value: 10, source: "simulator issue" } }, idealRps.map((v) => v / 1e6)),
    figureOf({ name: "simFullMReqPerSec", group, unit: "M req/s", better: "higher", threshold: null, target: { op: ">=", value: 2, source: "simulator issue" } }, fullRps.map((v) => v / 1e6)),
    figureOf({ name: "coreLruReplayMReqPerSec", group, unit: "M req/s", better: "higher", threshold: null }, coreRps.map((v) => v / 1e6)),
    ...(azureRps.length === 0
      ? []
      : [
          figureOf({ name: "simFullAzureMReqPerSec", group, unit: "M req/s", better: "higher", threshold: null, target: { op: ">=", value: 2, source: "simulator issue" } }, azureOnly(azureRps).map((v) => v / 1e6)),
          figureOf({ name: "simFullAzureVsGenerated", group, unit: "× full generated", better: "higher", threshold: null, description: "full-mode (8 instances) req/s on the Azure sample ÷ on the generated trace, same round" }, pairRatios(azureRps))
        ])
  ].filter((f): f is Figure => f !== undefined)
  const section: Section = {
    heading: "Simulator",
    text:
      `Simulated requests per CPU-second on one core, trace pre-materialised (${fullSim.describe}: the default scenario's shape, on/off bursts), each simulation in a worker thread of its own, one at a time. ` +
      `Ideal: one 64 GiB cache, lru, zero load/exec time. Full: 8 instances × 8 GiB, lru, modelmesh placement and scaling, least-in-flight routing. ` +
      `Reference: lru through ModelCache alone (bench-core's replay), timed in the same round. ${rounds} rounds, median. ` +
      (azureRps.length === 0
        ? "Azure sample not found (MESHKIT_AZURE_DIR): its full-mode row is left out. "
        : "Full on the Azure sample: scenarios/azure-functions.yaml's cluster (8 × 8 GiB, 120 minutes, 1.4 M requests), every other round, also as a ratio to the generated full-mode rate of the same round. ") +
      "Rates are per CPU-second of the process (a shared machine steals wall time, much less CPU time).",
    table: {
      columns: ["", "M req/s", "spread", "÷ core lru"],
      rows: [
        ["core lru replay", fmt(median(coreRps) / 1e6), `± ${fmt((Math.max(...coreRps) - Math.min(...coreRps)) / 2e6)}`, "1"],
        ["sim ideal lru", fmt(median(idealRps) / 1e6), `± ${fmt((Math.max(...idealRps) - Math.min(...idealRps)) / 2e6)}`, fmt(median(idealRps.map((v, i) => v / coreRps[i]!)))],
        ["sim full, 8 instances", fmt(median(fullRps) / 1e6), `± ${fmt((Math.max(...fullRps) - Math.min(...fullRps)) / 2e6)}`, fmt(median(fullRps.map((v, i) => v / coreRps[i]!)))],
        ...(azureRps.length === 0
          ? []
          : [["sim full, 8 instances, Azure sample", fmt(median(azureOnly(azureRps)) / 1e6), `± ${fmt((Math.max(...azureOnly(azureRps)) - Math.min(...azureOnly(azureRps))) / 2e6)}`, `${fmt(median(pairRatios(azureRps)))} × full generated`]])
      ]
    }
  }
  return { figures, notes: [], sections: [section] }
}

/** azureRps holds (azure, generated full) pairs of the same round */
const azureOnly = (pairs: readonly number[]): number[] => pairs.filter((_, i) => i % 2 === 0)
const pairRatios = (pairs: readonly number[]): number[] => {
  const out: number[] = []
  for (let i = 0; i + 1 < pairs.length; i += 2) out.push(pairs[i]! / pairs[i + 1]!)
  return out
}
