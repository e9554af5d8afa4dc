/**
 * Test support: a real etcd (Debian's `etcd-server`, 3.4) on loopback with free ports and a
 * temporary data dir, started by the test itself. No mocks: cluster tests talk to this process.
 *
 * When the binary is missing the harness installs it once (apt-get, as root) and says so on
 * stderr; when it cannot, the test fails with one line naming what to install — never a skip.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, rmdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startEtcd as startEtcdProcess } from "../../src/cluster/etcd-process.js"

const INSTALL_HINT = "etcd is required by the cluster tests: install it with `apt-get install -y etcd-server etcd-client` (Debian, as root)"
const CANDIDATES = ["/usr/bin/etcd", "/usr/local/bin/etcd"]
/** etcd starts in ~0.3 s when idle; a loaded 2-core box has been seen taking several seconds. */
const READY_TIMEOUT_MS = 30_000

const findEtcd = (): string | undefined => CANDIDATES.find((p) => existsSync(p))

/** The etcd binary, installing Debian's package when it is missing (once per machine, under a lock). */
export const ensureEtcd = (): string => {
  const found = findEtcd()
  if (found) return found
  if (typeof process.getuid !== "function" || process.getuid() !== 0) throw new Error(`${INSTALL_HINT} (not root here, so the harness cannot)`)
  // Two vitest workers may get here at once; dpkg takes one installer at a time.
  const lock = join(tmpdir(), "meshkit-etcd-install.lock")
  const deadline = Date.now() + 300_000
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      if (findEtcd()) return findEtcd()!
      if (Date.now() > deadline) throw new Error(`${INSTALL_HINT} (timed out waiting for another install)`)
      execFileSync("sleep", ["1"])
    }
  }
  try {
    if (findEtcd()) return findEtcd()!
    process.stderr.write("meshkit tests: etcd not found; installing Debian's etcd-server etcd-client with apt-get (once)\n")
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env })
    execFileSync("apt-get", ["install", "-y", "-qq", "etcd-server", "etcd-client"], { stdio: ["ignore", "ignore", "inherit"], env })
  } catch (e) {
    throw new Error(`${INSTALL_HINT} (apt-get failed: ${e instanceof Error ? e.message.split("\n")[0] : String(e)})`)
  } finally {
    rmdirSync(lock)
  }
  const installed = findEtcd()
  if (!installed) throw new Error(`${INSTALL_HINT} (apt-get ran but no etcd binary appeared)`)
  return installed
}

export interface EtcdServer {
  /** client URL, e.g. http://127.0.0.1:40123 */
  readonly endpoint: string
  readonly dataDir: string
  /** stop the process (SIGTERM, then SIGKILL); the data dir stays for `start` */
  stop(): Promise<void>
  /** start it again on the same ports and data dir (after `stop`) */
  start(): Promise<void>
  /** stop and remove the data dir */
  dispose(): Promise<void>
  readonly log: () => string
}

/** Start a fresh single-member etcd on loopback (the product's own launcher) and wait until it is healthy. */
export const startEtcd = async (): Promise<EtcdServer> => {
  const e = await startEtcdProcess({ bin: ensureEtcd(), output: "keep", readyTimeoutMs: READY_TIMEOUT_MS })
  return { endpoint: e.endpoint, dataDir: e.dataDir, stop: e.stop, start: e.restart, dispose: e.dispose, log: e.log }
}
