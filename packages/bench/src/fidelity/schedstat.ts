import { readFileSync } from "node:fs"

/**
 * A thread's scheduler accounting from /proc/<pid>/schedstat (Linux; the main thread of the
 * process, which is where the server's JS and — without runtime workers — its ONNX sessions
 * run): nanoseconds on a CPU, nanoseconds runnable but waiting for one. Their ratio over an
 * interval is the share of a core the thread got when it wanted one: on a machine shared with
 * other work, the factor by which its work was stretched.
 */

export interface SchedSample {
  readonly cpuNs: number
  readonly waitNs: number
}

export const schedOf = (pid: number | undefined): SchedSample | undefined => {
  if (pid === undefined || pid <= 0) return undefined
  try {
    const [cpu, wait] = readFileSync(`/proc/${pid}/schedstat`, "utf8").trim().split(/\s+/).map(Number)
    return Number.isFinite(cpu) && Number.isFinite(wait) ? { cpuNs: cpu!, waitNs: wait! } : undefined
  } catch {
    return undefined
  }
}

export interface SchedDelta {
  /** ms on a CPU */
  readonly cpuMs: number
  /** ms runnable but waiting for a CPU */
  readonly waitMs: number
  /** cpu ÷ (cpu + wait): the share of a core the thread got while runnable (1 = never kept waiting) */
  readonly share: number
}

export const schedDelta = (a: SchedSample | undefined, b: SchedSample | undefined): SchedDelta | undefined => {
  if (a === undefined || b === undefined) return undefined
  const cpuMs = (b.cpuNs - a.cpuNs) / 1e6
  const waitMs = (b.waitNs - a.waitNs) / 1e6
  return { cpuMs, waitMs, share: cpuMs + waitMs > 0 ? cpuMs / (cpuMs + waitMs) : 1 }
}
