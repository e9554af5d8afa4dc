import type { SlowdownConfig } from "@meshkit/sim"
import type { SchedTimeline } from "./real-run.js"
import { median } from "./stats.js"

/**
 * The simulator's slowdown (ClusterConfig.slowdown) from the server thread's scheduling over the
 * replay: in each step where the thread wanted a core for at least MIN_RUNNABLE of the step, its
 * share = CPU ÷ (CPU + run-queue wait); elsewhere (idle, nothing to learn) the last known share.
 * Costs given to the simulator are already divided by the run's mean share (`meanShare`), so a
 * step's factor is meanShare ÷ its share: > 1 where other work took more of the core than on
 * average.
 */

const MIN_RUNNABLE = 0.1
const MIN_SHARE = 0.05

export const slowdownOf = (t: SchedTimeline, meanShare: number): SlowdownConfig => {
  let last = meanShare
  const factors = t.cpuMs.map((cpu, i) => {
    const wait = t.waitMs[i]!
    if (cpu + wait >= MIN_RUNNABLE * t.stepMs) last = Math.max(MIN_SHARE, cpu / (cpu + wait))
    return meanShare / last
  })
  return { stepMs: t.stepMs, factors }
}

export const slowdownSummary = (s: SlowdownConfig) => {
  const f = [...s.factors]
  return { stepMs: s.stepMs, steps: f.length, min: Math.min(...f), median: median(f), max: Math.max(...f) }
}
