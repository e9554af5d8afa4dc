/**
 * Test support: a Debian package a test needs, installed by the harness when it is missing
 * (apt-get, as root, once per machine under a lock), or a one-line error naming what to install
 * — never a skip. A local stand-in for the shared `test/support/system-deps.ts` (same call
 * shape), until that module lands.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, rmdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** Debian's Python packages import only under this interpreter (the python3 on PATH is another one). */
export const DEBIAN_PYTHON = "/usr/bin/python3"

export interface DebianDependency {
  /** present when this binary exists (absolute path) ... */
  readonly binary?: string
  /** ... or when `/usr/bin/python3 -c "import <pythonModule>"` succeeds */
  readonly pythonModule?: string
  readonly package: ReadonlyArray<string>
  /** which tests need it, for the error message */
  readonly why: string
}

const present = (d: DebianDependency): boolean => {
  if (d.binary !== undefined) return existsSync(d.binary)
  if (d.pythonModule !== undefined) {
    if (!existsSync(DEBIAN_PYTHON)) return false
    return spawnSync(DEBIAN_PYTHON, ["-c", `import ${d.pythonModule}`], { stdio: "ignore" }).status === 0
  }
  throw new Error("ensureDebianPackage: give binary or pythonModule")
}

export const ensureDebianPackage = (d: DebianDependency): void => {
  if (present(d)) return
  const hint = `${d.why}: install it with \`apt-get install -y ${d.package.join(" ")}\` (Debian, as root)`
  if (typeof process.getuid !== "function" || process.getuid() !== 0) throw new Error(`${hint} (not root here, so the harness cannot)`)
  // Two vitest workers may get here at once; dpkg takes one installer at a time.
  const lock = join(tmpdir(), "meshkit-apt-install.lock")
  const deadline = Date.now() + 600_000
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      if (present(d)) return
      if (Date.now() > deadline) throw new Error(`${hint} (timed out waiting for another install)`)
      execFileSync("sleep", ["1"])
    }
  }
  try {
    if (present(d)) return
    process.stderr.write(`meshkit tests: installing Debian's ${d.package.join(" ")} with apt-get (once): ${d.why}\n`)
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env })
    execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...d.package], { stdio: ["ignore", "ignore", "inherit"], env })
  } catch (e) {
    throw new Error(`${hint} (apt-get failed: ${e instanceof Error ? e.message.split("\n")[0] : String(e)})`)
  } finally {
    rmdirSync(lock)
  }
  if (!present(d)) throw new Error(`${hint} (apt-get ran but it is still missing)`)
}
