import { spawn, type ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"

/**
 * The servers under test run as child processes (one at a time), the load generator in this
 * process: on 2 cores that gives the server one core and the generator the other, and the same
 * arrangement for the bare baseline and meshkit, so their ratio is fair.
 */

export const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url))
export const meshkitBin = fileURLToPath(new URL("../../../../bin/meshkit.js", import.meta.url))
/** tsx's loader by absolute URL, so a .ts child starts from any working directory */
export const tsxImport = (): string => import.meta.resolve("tsx")

export interface Child {
  readonly proc: ChildProcess
  readonly pid: number
  /** the first line that matched `ready` */
  readonly readyLine: string
  /** the last lines of stderr, for error messages */
  readonly stderrTail: () => string
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process has exited */
  readonly stop: () => Promise<void>
}

export interface StartOptions {
  readonly label: string
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly ready: RegExp
  readonly timeoutMs: number
  readonly env?: NodeJS.ProcessEnv
  readonly cwd?: string
}

export const startChild = (o: StartOptions): Promise<Child> =>
  new Promise((resolve, reject) => {
    const proc = spawn(o.command, [...o.args], {
      cwd: o.cwd ?? repoRoot,
      env: { ...process.env, ...o.env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let tail = ""
    let out = ""
    let settled = false
    const exited = new Promise<void>((r) => proc.once("exit", () => r()))
    const stop = async (): Promise<void> => {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      proc.kill("SIGTERM")
      const killer = setTimeout(() => proc.kill("SIGKILL"), 5_000)
      await exited
      clearTimeout(killer)
    }
    const fail = (why: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      void stop()
      reject(new Error(`${o.label}: ${why}${tail ? `\n--- stderr (tail) ---\n${tail}` : ""}`))
    }
    const timer = setTimeout(() => fail(`not ready within ${o.timeoutMs} ms`), o.timeoutMs)
    const scan = (chunk: string, isStdout: boolean) => {
      if (isStdout) out += chunk
      else tail = (tail + chunk).slice(-4000)
      if (settled) return
      for (const line of (isStdout ? out : tail).split("\n")) {
        if (o.ready.test(line)) {
          settled = true
          clearTimeout(timer)
          out = ""
          resolve({ proc, pid: proc.pid!, readyLine: line, stderrTail: () => tail, stop })
          return
        }
      }
      if (isStdout) out = out.slice(-4000)
    }
    proc.stdout!.setEncoding("utf8").on("data", (c: string) => scan(c, true))
    proc.stderr!.setEncoding("utf8").on("data", (c: string) => scan(c, false))
    proc.once("error", (e) => fail(`could not start (${e.message})`))
    proc.once("exit", (code, signal) => fail(`exited before it was ready (code ${code}, signal ${signal})`))
  })

/** The port from a ready line such as `... listening http://127.0.0.1:43210 ...`. */
export const portFrom = (line: string): number => {
  const m = /http:\/\/[^\s:]+:(\d+)/.exec(line)
  if (!m) throw new Error(`no http://host:port in ready line: ${line}`)
  return Number(m[1])
}
