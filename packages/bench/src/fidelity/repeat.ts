import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { fidelityRun, prepareFidelity } from "./fidelity.js"
import type { FidelityOptions, FidelityResult } from "./types.js"

/**
 * `meshkit fidelity --repeat N`: N consecutive real runs on the same window and model files,
 * each with its simulated twin calibrated from that run alone (a fresh server per run, so no run
 * inherits another's resident models). On a shared machine one run's real p99 says little; the
 * spread over N runs and the share that meets the goal say how far the simulator can be trusted.
 */

/** the share of runs that must meet the goal (8 of 10) */
export const REQUIRED_SHARE = 0.8

export interface Spread {
  readonly min: number
  readonly median: number
  readonly max: number
}

export interface RepeatedFidelity {
  readonly runs: ReadonlyArray<FidelityResult>
  readonly spread: {
    readonly realP99Us: Spread
    readonly simP99Us: Spread
    /** |sim − real| ÷ real, per run */
    readonly p99RelativeError: Spread
    /** sim − real, signed, per run */
    readonly p99SignedError: Spread
    readonly hitRatioPoints: Spread
  }
  readonly verdict: {
    /** runs that met the goal (hit ratio within 2 points, p99 within 20 %) */
    readonly met: number
    readonly runs: number
    readonly requiredShare: number
    readonly passed: boolean
    readonly text: string
  }
}

/** min, median (the mean of the middle two for an even count) and max */
export const spreadOf = (xs: ReadonlyArray<number>): Spread => {
  if (xs.length === 0) return { min: 0, median: 0, max: 0 }
  const s = [...xs].sort((a, b) => a - b)
  const h = s.length >> 1
  return { min: s[0]!, median: s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2, max: s[s.length - 1]! }
}

export const summarize = (runs: ReadonlyArray<FidelityResult>): RepeatedFidelity => {
  const met = runs.filter((r) => r.goal.met).length
  const n = runs.length
  const passed = n > 0 && met >= Math.ceil(REQUIRED_SHARE * n - 1e-9)
  const err = spreadOf(runs.map((r) => r.goal.p99RelativeError))
  return {
    runs,
    spread: {
      realP99Us: spreadOf(runs.map((r) => r.real.latencyUs.p99)),
      simP99Us: spreadOf(runs.map((r) => r.sim.latencyUs.p99)),
      p99RelativeError: err,
      p99SignedError: spreadOf(runs.map((r) => (r.sim.latencyUs.p99 - r.real.latencyUs.p99) / r.real.latencyUs.p99)),
      hitRatioPoints: spreadOf(runs.map((r) => r.goal.hitRatioPoints))
    },
    verdict: {
      met,
      runs: n,
      requiredShare: REQUIRED_SHARE,
      passed,
      text: `${met} of ${n} runs met the goal (p99 within 20 %, hit ratio within 2 points); needed ${Math.ceil(REQUIRED_SHARE * n - 1e-9)} (${REQUIRED_SHARE * 100} %): ${passed ? "passed ✓" : "failed ✗"}`
    }
  }
}

export const runFidelityRepeated = async (o: FidelityOptions, repeat: number): Promise<RepeatedFidelity> => {
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`repeat must be a whole number ≥ 1, got ${repeat}`)
  const prepared = await prepareFidelity(o)
  const runs: FidelityResult[] = []
  for (let i = 0; i < repeat; i++) {
    const tag = `run ${i + 1}/${repeat}`
    const progress = (line: string) => o.progress(`${tag}: ${line}`)
    const runDir = join(o.workDir, `run-${i + 1}`)
    mkdirSync(runDir, { recursive: true })
    const dump = o.dumpFile === undefined ? {} : { dumpFile: o.dumpFile.replace(/(\.csv)?$/, `-run${i + 1}$1`) }
    const record = o.recordFile === undefined ? {} : { recordFile: o.recordFile.replace(/(\.json)?$/, `-run${i + 1}$1`) }
    const from = o.fromRecords === undefined ? {} : { fromRecords: [o.fromRecords[i]!] }
    const r = await fidelityRun(prepared, { ...o, progress, ...dump, ...record, ...from }, runDir)
    runs.push(r)
    const e = (r.sim.latencyUs.p99 - r.real.latencyUs.p99) / r.real.latencyUs.p99
    progress(
      `real p99 ${(r.real.latencyUs.p99 / 1000).toFixed(1)} ms, sim ${(r.sim.latencyUs.p99 / 1000).toFixed(1)} ms (${e >= 0 ? "+" : "−"}${Math.abs(e * 100).toFixed(1)} %): ${r.goal.met ? "met" : "missed"}` +
        (r.goal.met || r.decomposition === undefined ? "" : `; ${r.decomposition.attribution.text}`)
    )
  }
  return summarize(runs)
}
