// The test harness's Debian-package check: present → nothing runs; missing as root with apt-get →
// exactly one install (apt-get update once, then the package); missing otherwise → one line that
// says what to install. The machine is injected, so this test installs nothing.
import { describe, expect, it } from "vitest"
import { decide, ensureDebianPackage, listedPackages, type System } from "./support/system-deps.js"

interface FakeState {
  binaries: Set<string>
  modules: Set<string>
  root: boolean
  apt: boolean
  listsFresh: boolean
  /** what "installing" a package makes appear */
  provides: Record<string, { binary?: string; module?: string }>
  failOn?: string
}

const fake = (s: FakeState) => {
  const runs: Array<{ command: string; args: ReadonlyArray<string>; env: Readonly<Record<string, string>> }> = []
  const logs: string[] = []
  let locks = 0
  const system: System = {
    findBinary: (b) => (s.binaries.has(b) ? b : undefined),
    canImport: (m) => s.modules.has(m),
    isRoot: () => s.root,
    hasAptGet: () => s.apt,
    aptListsFresh: () => s.listsFresh,
    run: (command, args, env) => {
      runs.push({ command, args, env })
      if (s.failOn !== undefined && args[0] === s.failOn) throw new Error("E: Unable to locate package\nmore")
      if (args[0] === "install") {
        for (const p of args.slice(1)) {
          const gives = s.provides[p]
          if (gives?.binary) s.binaries.add(gives.binary)
          if (gives?.module) s.modules.add(gives.module)
        }
      }
    },
    log: (l) => logs.push(l),
    withLock: (fn) => {
      locks++
      return fn()
    },
    markAptListsFresh: () => {
      s.listsFresh = true
    }
  }
  return { system, runs, logs, locks: () => locks }
}

const base = (over: Partial<FakeState> = {}): FakeState => ({
  binaries: new Set(),
  modules: new Set(),
  root: true,
  apt: true,
  listsFresh: false,
  provides: { chromium: { binary: "/usr/bin/chromium" }, "python3-xgboost": { module: "xgboost" }, "etcd-server": { binary: "/usr/bin/etcd" } },
  ...over
})

const chromium = { binary: "/usr/bin/chromium", package: "chromium", why: "the report checks" }

describe("ensureDebianPackage", () => {
  it("does nothing when the binary is there, and returns its path", () => {
    const f = fake(base({ binaries: new Set(["/usr/bin/chromium"]) }))
    expect(ensureDebianPackage(chromium, f.system)).toBe("/usr/bin/chromium")
    expect(f.runs).toEqual([])
    expect(f.locks()).toBe(0)
  })

  it("does nothing when Debian's python imports the module", () => {
    const f = fake(base({ modules: new Set(["xgboost"]) }))
    expect(ensureDebianPackage({ pythonModule: "xgboost", package: "python3-xgboost", why: "x" }, f.system)).toBeUndefined()
    expect(f.runs).toEqual([])
  })

  it("installs once as root with apt-get: update, then install non-interactively, under the lock, saying so", () => {
    const f = fake(base())
    expect(ensureDebianPackage(chromium, f.system)).toBe("/usr/bin/chromium")
    expect(f.locks()).toBe(1)
    expect(f.runs).toEqual([
      { command: "/usr/bin/apt-get", args: ["update"], env: { DEBIAN_FRONTEND: "noninteractive" } },
      { command: "/usr/bin/apt-get", args: ["install", "-y", "--no-install-recommends", "chromium"], env: { DEBIAN_FRONTEND: "noninteractive" } }
    ])
    expect(f.logs[0]).toBe("meshkit tests: installing Debian package chromium for the report checks (once)…")
    // A second call in the same run finds it and runs nothing more.
    ensureDebianPackage(chromium, f.system)
    expect(f.runs).toHaveLength(2)
  })

  it("runs apt-get update once per run: a second package skips it", () => {
    const f = fake(base())
    ensureDebianPackage(chromium, f.system)
    ensureDebianPackage({ binary: "/usr/bin/etcd", package: ["etcd-server", "etcd-client"], why: "cluster" }, f.system)
    expect(f.runs.map((r) => r.args.join(" "))).toEqual([
      "update",
      "install -y --no-install-recommends chromium",
      "install -y --no-install-recommends etcd-server etcd-client"
    ])
  })

  it("throws one line naming the install command when not root, and installs nothing", () => {
    const f = fake(base({ root: false }))
    let message = ""
    try {
      ensureDebianPackage(chromium, f.system)
    } catch (e) {
      message = e instanceof Error ? e.message : String(e)
    }
    expect(message).toBe(
      "/usr/bin/chromium not found, needed for the report checks: install it with `apt-get install -y chromium` (as root; the test harness is not root here, so it cannot)"
    )
    expect(message).not.toContain("\n")
    expect(f.runs).toEqual([])
  })

  it("throws one line when there is no apt-get", () => {
    const f = fake(base({ apt: false }))
    expect(() => ensureDebianPackage({ pythonModule: "xgboost", package: "python3-xgboost", why: "the xgboost checks" }, f.system)).toThrow(
      /^python module xgboost \(\/usr\/bin\/python3\) not found, needed for the xgboost checks: install it with `apt-get install -y python3-xgboost` \(no apt-get/
    )
  })

  it("a failing apt-get becomes one line with apt-get's first error line and the command to run", () => {
    const f = fake(base({ failOn: "install" }))
    let message = ""
    try {
      ensureDebianPackage(chromium, f.system)
    } catch (e) {
      message = e instanceof Error ? e.message : String(e)
    }
    expect(message).toContain("E: Unable to locate package")
    expect(message).toContain("`apt-get install -y chromium`")
    expect(message).not.toContain("\n")
  })

  it("fails when the install ran but the binary still is not there (never reports success it did not see)", () => {
    const f = fake(base({ provides: {} }))
    expect(() => ensureDebianPackage(chromium, f.system)).toThrow(/still not found after `apt-get install -y chromium`/)
  })

  it("refuses a package that is not on the one list .ci/run installs from", () => {
    const f = fake(base())
    expect(() => decide({ binary: "redis-server", package: "redis-server", why: "x" }, f.system)).toThrow(/not in test\/support\/debian-packages\.json/)
  })

  it("the list names a check and a reason for every package", () => {
    const list = listedPackages()
    expect(list.length).toBeGreaterThan(0)
    for (const d of list) {
      expect(d.binary ?? d.pythonModule, JSON.stringify(d)).toBeTruthy()
      expect(d.why).toBeTruthy()
    }
  })
})
