import { readFileSync } from "node:fs"
import * as os from "node:os"
import type { MachineFacts } from "./figures.js"

/** What a reader needs to judge a figure: which CPU, how many cores, which Node, how busy. */
export const machineFacts = (now: Date): MachineFacts => ({
  cpuModel: cpuModel(),
  cores: os.cpus().length,
  node: process.version,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  totalMemoryBytes: os.totalmem(),
  loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
  date: now.toISOString()
})

const cpuModel = (): string => {
  // /proc/cpuinfo is the honest source on Linux (os.cpus() is the same string, but may be empty in containers)
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))
    if (m) return m[1]!.trim()
  } catch {
    // not Linux: fall through
  }
  return os.cpus()[0]?.model?.trim() || "unknown"
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (VmRSS); undefined once it has exited. */
export const rssOf = (pid: number): number | undefined => {
  try {
    const m = /^VmRSS:\s*(\d+)\s*kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return m ? Number(m[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

/**
 * This process's CPU time (user + system) in ms. Single-threaded CPU-bound benchmarks time
 * themselves with it: on a shared machine a descheduled process loses wall time, not CPU time.
 */
export const cpuNowMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
