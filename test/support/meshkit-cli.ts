import { spawn } from "node:child_process"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

/** The repository root, and a run of `node bin/meshkit.js ARGS` there as a user runs it. */
export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)))

export interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** A real `meshkit` process (CI=true: no progress bars); `env` adds or overrides variables. */
export const meshkit = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Ran> =>
  new Promise((done, fail) => {
    const p = spawn(process.execPath, [join(ROOT, "bin/meshkit.js"), ...args], { cwd: ROOT, env: { ...process.env, CI: "true", ...env } })
    let stdout = ""
    let stderr = ""
    p.stdout.on("data", (d) => (stdout += d))
    p.stderr.on("data", (d) => (stderr += d))
    p.on("error", fail)
    p.on("close", (code) => done({ code, stdout, stderr }))
  })
