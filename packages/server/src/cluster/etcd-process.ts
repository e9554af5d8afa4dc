/**
 * A single-member etcd on loopback, started from the etcd binary on PATH (or a given one), with
 * its own data directory: what `meshkit cluster up`, the cluster fidelity run and the tests use to
 * try cluster mode on one machine. Production points `--etcd` at a real etcd cluster instead.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"

export interface EtcdProcess {
  /** http://127.0.0.1:PORT, for `--etcd` */
  readonly endpoint: string
  readonly dataDir: string
  readonly pid: number | undefined
  /** Stops etcd (SIGTERM, then SIGKILL after 5 s); keeps the data directory. */
  stop(): Promise<void>
  /** Starts it again on the same ports and data (after stop()). */
  restart(): Promise<void>
  /** Stops it and removes the data directory (unless it was given). */
  dispose(): Promise<void>
  /** the end of etcd's own output, with `output: "keep"` (empty otherwise) */
  log(): string
}

export interface EtcdOptions {
  /** the etcd executable; default: `etcd` found on PATH, else /usr/bin/etcd */
  readonly bin?: string
  /** default: a new temporary directory, removed by dispose() */
  readonly dataDir?: string
  readonly clientPort?: number
  readonly peerPort?: number
  /** how long to wait for /health (default 20 s) */
  readonly readyTimeoutMs?: number
  /** etcd's own output: default discarded (it is verbose); "inherit" shows it; "keep" keeps its end for log() and errors */
  readonly output?: "ignore" | "inherit" | "keep"
}

/** The etcd executable from PATH, or undefined. */
export const findEtcd = (): string | undefined => {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue
    const p = join(dir, "etcd")
    if (existsSync(p)) return p
  }
  return existsSync("/usr/bin/etcd") ? "/usr/bin/etcd" : undefined
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const a = s.address()
      const port = typeof a === "object" && a !== null ? a.port : 0
      s.close(() => resolve(port))
    })
  })

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export class EtcdNotFound extends Error {
  constructor() {
    super("etcd not found on PATH: install it (Debian: apt-get install etcd-server) or pass --etcd-bin PATH")
  }
}

export const startEtcd = async (o: EtcdOptions = {}): Promise<EtcdProcess> => {
  const bin = o.bin ?? findEtcd()
  if (bin === undefined || !existsSync(bin)) throw new EtcdNotFound()
  const ownDir = o.dataDir === undefined
  const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), "meshkit-etcd-")))
  const clientPort = o.clientPort ?? (await freePort())
  const peerPort = o.peerPort ?? (await freePort())
  const endpoint = `http://127.0.0.1:${clientPort}`
  const peer = `http://127.0.0.1:${peerPort}`
  const args = [
    "--name", "meshkit",
    "--data-dir", dataDir,
    "--listen-client-urls", endpoint,
    "--advertise-client-urls", endpoint,
    "--listen-peer-urls", peer,
    "--initial-advertise-peer-urls", peer,
    "--initial-cluster", `meshkit=${peer}`,
    // Small, quick and quiet: this etcd serves one machine's trial cluster.
    "--heartbeat-interval", "100",
    "--election-timeout", "500",
    "--log-level", "error"
  ]
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  let output = ""
  const tail = () => (output === "" ? `run ${bin} ${args.join(" ")} to see why` : `its output:\n${output}`)

  const launch = async () => {
    const mode = o.output === "keep" ? "pipe" : (o.output ?? "ignore")
    const c = spawn(bin, args, { stdio: ["ignore", mode, mode], detached: true })
    if (o.output === "keep") {
      const keep = (b: Buffer) => {
        output = (output + b.toString()).slice(-20_000)
      }
      c.stdout!.on("data", keep)
      c.stderr!.on("data", keep)
    }
    child = c
    let exitCode: number | null | undefined
    exited = new Promise<void>((resolve) => {
      c.once("exit", (code) => {
        exitCode = code
        resolve()
      })
      c.once("error", () => {
        exitCode = -1
        resolve()
      })
    })
    const deadline = Date.now() + (o.readyTimeoutMs ?? 20_000)
    for (;;) {
      if (exitCode !== undefined) throw new Error(`etcd exited at start (code ${exitCode}); ${tail()}`)
      try {
        const r = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) })
        if (r.ok) {
          const h = (await r.json()) as { health?: string }
          if (h.health === "true") return
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        c.kill("SIGKILL")
        throw new Error(`etcd did not become healthy at ${endpoint} within ${o.readyTimeoutMs ?? 20_000} ms; ${tail()}`)
      }
      await sleep(100)
    }
  }

  const stop = async () => {
    const c = child
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return
    c.kill("SIGTERM")
    const timer = setTimeout(() => c.kill("SIGKILL"), 5000)
    await exited
    clearTimeout(timer)
    child = undefined
  }

  await launch()
  return {
    endpoint,
    dataDir,
    get pid() {
      return child?.pid
    },
    stop,
    restart: async () => {
      await stop()
      await launch()
    },
    dispose: async () => {
      await stop()
      if (ownDir) await rm(dataDir, { recursive: true, force: true })
    },
    log: () => output
  }
}
