/**
 * Test support: a real etcd (Debian's `etcd-server`, 3.4) on loopback with free ports and a
 * temporary data dir, started by the test itself. No mocks: cluster tests talk to this process.
 *
 * When the binary is missing the harness installs it once (apt-get, as root) and says so on
 * stderr; when it cannot, the test fails with one line naming what to install — never a skip.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process"
import { existsSync, mkdirSync, rmdirSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

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

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address()
      const port = typeof addr === "object" && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })

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

/** Start a fresh single-member etcd on loopback and wait until it reports healthy. */
export const startEtcd = async (): Promise<EtcdServer> => {
  const bin = ensureEtcd()
  const dataDir = await mkdtemp(join(tmpdir(), "meshkit-etcd-"))
  const clientPort = await freePort()
  const peerPort = await freePort()
  const endpoint = `http://127.0.0.1:${clientPort}`
  const peer = `http://127.0.0.1:${peerPort}`
  const args = [
    "--name", "t",
    "--data-dir", join(dataDir, "data"),
    "--listen-client-urls", endpoint,
    "--advertise-client-urls", endpoint,
    "--listen-peer-urls", peer,
    "--initial-advertise-peer-urls", peer,
    "--initial-cluster", `t=${peer}`,
    "--log-level", "warn"
  ]
  let proc: ChildProcess | undefined
  let output = ""

  const start = async (): Promise<void> => {
    if (proc) throw new Error("etcd is already running")
    const p = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] })
    proc = p
    const keep = (c: Buffer) => {
      output = (output + c.toString()).slice(-20_000)
    }
    p.stdout!.on("data", keep)
    p.stderr!.on("data", keep)
    const exited = new Promise<never>((_, reject) => p.once("exit", (code) => reject(new Error(`etcd exited (code ${code}) before it was healthy:\n${output}`))))
    exited.catch(() => {})
    const deadline = Date.now() + READY_TIMEOUT_MS
    for (;;) {
      const healthy = await Promise.race([
        fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) }).then(
          async (r) => r.status === 200 && ((await r.json()) as { health?: string }).health === "true",
          () => false
        ),
        exited
      ])
      if (healthy) return
      if (Date.now() > deadline) {
        await stop()
        throw new Error(`etcd did not become healthy within ${READY_TIMEOUT_MS} ms:\n${output}`)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  const stop = async (): Promise<void> => {
    const p = proc
    if (!p) return
    proc = undefined
    if (p.exitCode !== null || p.signalCode !== null) return
    const gone = new Promise<void>((r) => p.once("exit", () => r()))
    p.kill("SIGTERM")
    const timer = setTimeout(() => p.kill("SIGKILL"), 5_000)
    await gone
    clearTimeout(timer)
  }

  await start()
  return {
    endpoint,
    dataDir,
    stop,
    start,
    dispose: async () => {
      await stop()
      await rm(dataDir, { recursive: true, force: true })
    },
    log: () => output
  }
}
