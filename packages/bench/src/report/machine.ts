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
  loadAverage1m: loadAverage1m(),
  date: now.toISOString()
})

export const loadAverage1m = (): number => Math.round(os.loadavg()[0]! * 100) / 100

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

/** Clock ticks per second of /proc times (USER_HZ): 100 on Linux everywhere in practice. */
const USER_HZ = 100

/** CPU time (user + system, all threads) a process has used, in ms, from /proc/<pid>/stat; undefined once it has exited. */
export const cpuMsOf = (pid: number): number | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8")
    // fields after the command name (which may contain spaces) start at state, field 3; utime and stime are 14 and 15
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ")
    return ((Number(f[11]) + Number(f[12])) * 1000) / USER_HZ
  } catch {
    return undefined
  }
}
