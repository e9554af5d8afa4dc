/**
 * Test support: the Debian packages some tests need beyond npm (chromium, etcd, promtool, Debian's
 * Python modules). `ensureDebianPackage` checks that one is there; when it is not and the harness
 * runs as root with apt-get, it installs it once (one installer at a time across vitest workers, a
 * clear message and apt-get's progress on stderr); otherwise it throws one line saying exactly what
 * to install. Never a silent skip: a test that needs a package either gets it or fails saying so.
 *
 * The packages it may install are listed in `debian-packages.json` beside it — the same list
 * `.ci/run` pre-installs through this module (`install-debian-packages.ts`), so CI installs nothing
 * the harness would not.
 */
import { execFileSync } from "node:child_process"
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"

export interface DebianDependency {
  /** an executable: an absolute path, or a name looked up on PATH (and /usr/bin, /usr/sbin) */
  readonly binary?: string
  /** a module Debian's own interpreter (/usr/bin/python3, not the python3 on PATH) must import */
  readonly pythonModule?: string
  /** the Debian package(s) that provide it */
  readonly package: string | ReadonlyArray<string>
  /** what the tests need it for, shown in the messages */
  readonly why: string
}

/** Debian's Python: its python3-* packages install for this interpreter only. */
export const DEBIAN_PYTHON = "/usr/bin/python3"
const APT_GET = "/usr/bin/apt-get"
/** apt-get update once per run: a package list fetched within this window is fresh enough. */
const APT_UPDATE_FRESH_MS = 60 * 60_000
/** a lock older than this was left by a killed worker */
const STALE_LOCK_MS = 20 * 60_000
const WAIT_FOR_LOCK_MS = 30 * 60_000

/** What the decision reads about the machine; injected in unit tests. */
export interface SystemProbe {
  findBinary(binary: string): string | undefined
  canImport(pythonModule: string): boolean
  isRoot(): boolean
  hasAptGet(): boolean
  /** whether `apt-get update` already ran in this run (or recently enough) */
  aptListsFresh(): boolean
}

/** What the installer does to the machine; injected in unit tests so they install nothing. */
export interface SystemActions {
  run(command: string, args: ReadonlyArray<string>, env: Readonly<Record<string, string>>): void
  log(line: string): void
  /** run fn while holding the machine-wide install lock */
  withLock<A>(fn: () => A): A
  markAptListsFresh(): void
}

export type System = SystemProbe & SystemActions

export interface Command {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
}

export type Decision =
  | { readonly _tag: "Present"; readonly path: string | undefined }
  | { readonly _tag: "Install"; readonly message: string; readonly commands: ReadonlyArray<Command> }
  | { readonly _tag: "Missing"; readonly message: string }

const packagesOf = (dep: DebianDependency): ReadonlyArray<string> => (typeof dep.package === "string" ? [dep.package] : dep.package)

const whatOf = (dep: DebianDependency): string =>
  [dep.binary === undefined ? undefined : dep.binary, dep.pythonModule === undefined ? undefined : `python module ${dep.pythonModule} (${DEBIAN_PYTHON})`]
    .filter((s): s is string => s !== undefined)
    .join(" and ")

export const installHint = (dep: DebianDependency): string => `apt-get install -y ${packagesOf(dep).join(" ")}`

/** Present when every check passes; the binary's path when there is one. */
export const probePresence = (dep: DebianDependency, probe: SystemProbe): { present: boolean; path: string | undefined } => {
  const path = dep.binary === undefined ? undefined : probe.findBinary(dep.binary)
  const binaryOk = dep.binary === undefined || path !== undefined
  const moduleOk = dep.pythonModule === undefined || probe.canImport(dep.pythonModule)
  return { present: binaryOk && moduleOk, path }
}

/** The decision alone (no side effects): present, install with these commands, or missing with one line. */
export const decide = (dep: DebianDependency, probe: SystemProbe): Decision => {
  if (dep.binary === undefined && dep.pythonModule === undefined) throw new Error(`ensureDebianPackage(${packagesOf(dep).join(" ")}): give a binary or a pythonModule to check`)
  const known = knownPackages()
  const unknown = packagesOf(dep).filter((p) => !known.has(p))
  if (unknown.length > 0) throw new Error(`Debian package ${unknown.join(" ")} is not in test/support/debian-packages.json: add it there (the one list the harness and .ci/run install from)`)
  const { present, path } = probePresence(dep, probe)
  if (present) return { _tag: "Present", path }
  const base = `${whatOf(dep)} not found, needed for ${dep.why}: install it with \`${installHint(dep)}\``
  if (!probe.isRoot()) return { _tag: "Missing", message: `${base} (as root; the test harness is not root here, so it cannot)` }
  if (!probe.hasAptGet()) return { _tag: "Missing", message: `${base} (no apt-get on this machine, so the test harness cannot)` }
  const env = { DEBIAN_FRONTEND: "noninteractive" }
  const commands: Command[] = []
  if (!probe.aptListsFresh()) commands.push({ command: APT_GET, args: ["update"], env })
  commands.push({ command: APT_GET, args: ["install", "-y", "--no-install-recommends", ...packagesOf(dep)], env })
  return { _tag: "Install", message: `meshkit tests: installing Debian package ${packagesOf(dep).join(" ")} for ${dep.why} (once)…`, commands }
}

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? ""

/**
 * Makes sure a Debian package is there, installing it when it can (see the file comment).
 * Returns the binary's path when `binary` was given. Throws one line when it is missing and cannot be installed.
 */
export const ensureDebianPackage = (dep: DebianDependency, system: System = hostSystem): string | undefined => {
  const first = decide(dep, system)
  if (first._tag === "Present") return first.path
  if (first._tag === "Missing") throw new Error(first.message)
  return system.withLock(() => {
    // Another worker may have installed it (or refreshed the lists) while this one waited.
    const again = decide(dep, system)
    if (again._tag === "Present") return again.path
    if (again._tag === "Missing") throw new Error(again.message)
    system.log(again.message)
    for (const c of again.commands) {
      try {
        system.run(c.command, c.args, c.env)
      } catch (e) {
        throw new Error(`${whatOf(dep)} not found, needed for ${dep.why}; \`${c.command} ${c.args.join(" ")}\` failed (${firstLine(e)}): install it with \`${installHint(dep)}\``)
      }
      if (c.args[0] === "update") system.markAptListsFresh()
    }
    const after = probePresence(dep, system)
    if (!after.present) throw new Error(`${whatOf(dep)} still not found after \`${installHint(dep)}\`, needed for ${dep.why}`)
    system.log(`meshkit tests: installed ${packagesOf(dep).join(" ")}`)
    return after.path
  })
}

// ---- the real machine ----

const isExecutable = (p: string): boolean => {
  try {
    accessSync(p, constants.X_OK)
    return statSync(p).isFile()
  } catch {
    return false
  }
}

const findBinary = (binary: string): string | undefined => {
  if (binary.includes("/")) return isExecutable(binary) ? binary : undefined
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/sbin", "/usr/local/bin"].filter((d) => d !== "")
  return dirs.map((d) => join(d, binary)).find(isExecutable)
}

const aptStamp = (): string => join(tmpdir(), "meshkit-apt-lists-fresh")
const lockDir = (): string => join(tmpdir(), "meshkit-apt-install.lock")

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

const withLock = <A>(fn: () => A): A => {
  const lock = lockDir()
  const deadline = Date.now() + WAIT_FOR_LOCK_MS
  let said = false
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true })
      } catch {
        // gone already: take it on the next turn
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for another test worker's apt-get (lock ${lock})`)
      if (!said) process.stderr.write(`meshkit tests: waiting for another test worker's apt-get (lock ${lock})…\n`)
      said = true
      sleepSync(500)
    }
  }
  try {
    return fn()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

export const hostSystem: System = {
  findBinary,
  canImport: (m) => {
    if (!isExecutable(DEBIAN_PYTHON)) return false
    try {
      execFileSync(DEBIAN_PYTHON, ["-c", `import ${m}`], { stdio: "ignore" })
      return true
    } catch {
      return false
    }
  },
  isRoot: () => typeof process.getuid === "function" && process.getuid() === 0,
  hasAptGet: () => isExecutable(APT_GET),
  aptListsFresh: () => {
    try {
      return Date.now() - statSync(aptStamp()).mtimeMs < APT_UPDATE_FRESH_MS
    } catch {
      return false
    }
  },
  run: (command, args, env) => {
    // apt-get's progress goes to stderr (the test's stdout is the reporter's).
    execFileSync(command, [...args], { stdio: ["ignore", 2, 2], env: { ...process.env, ...env } })
  },
  log: (line) => {
    process.stderr.write(`${line}\n`)
  },
  withLock,
  markAptListsFresh: () => {
    const p = aptStamp()
    if (existsSync(p)) utimesSync(p, new Date(), new Date())
    else writeFileSync(p, "")
  }
}

// ---- the one list ----

export interface ListedPackage extends DebianDependency {}

const LIST_PATH = new URL("./debian-packages.json", import.meta.url)

/** Every package the harness may install, as `debian-packages.json` lists them. */
export const listedPackages = (): ReadonlyArray<ListedPackage> =>
  (JSON.parse(readFileSync(LIST_PATH, "utf8")) as { packages: ListedPackage[] }).packages

const knownPackages = (): Set<string> => new Set(listedPackages().flatMap(packagesOf))

/** The listed dependency that provides this package (its checks and reason), for callers that name a package only. */
export const listedDependency = (pkg: string): ListedPackage => {
  const found = listedPackages().find((d) => packagesOf(d).includes(pkg))
  if (!found) throw new Error(`Debian package ${pkg} is not in test/support/debian-packages.json`)
  return found
}
