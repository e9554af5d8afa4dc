/**
 * A whole cluster on one machine: an etcd and N `meshkit serve --etcd …` processes on loopback.
 * `meshkit cluster up`, the cluster fidelity run and the end-to-end tests all start clusters this
 * way, so what a user tries on a laptop is what the tests prove.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, startEtcd, type EtcdProcess } from "./etcd-process.js"

export interface LocalInstance {
  readonly index: number
  readonly id: string
  /** http://127.0.0.1:PORT */
  readonly url: string
  readonly port: number
  /** the gRPC port, or undefined when it is off */
  readonly grpcPort: number | undefined
  readonly child: ChildProcess
  /** what the process printed (its JSON log lines), for diagnostics */
  readonly output: string[]
}

export interface LocalClusterOptions {
  readonly instances: number
  /**
   * The command that runs `meshkit serve` (e.g. [process.execPath, "bin/meshkit.js", "serve"]);
   * the cluster appends the per-instance flags.
   */
  readonly serveCommand: readonly string[]
  /** flags every instance gets (e.g. --models DIR --memory 256MiB) */
  readonly serveArgs: readonly string[]
  readonly etcdBin?: string
  /** use this etcd instead of starting one */
  readonly etcd?: EtcdProcess
  /** gRPC listeners: all, none (default), or per instance */
  readonly grpc?: boolean | ((index: number) => boolean)
  readonly cwd?: string
  readonly env?: NodeJS.ProcessEnv
  /** how long an instance may take to answer /v2/health/ready (default 60 s) */
  readonly readyTimeoutMs?: number
  /** called with each output line of each instance */
  readonly onLine?: (instance: number, line: string) => void
}

export interface LocalCluster {
  readonly etcd: EtcdProcess
  readonly instances: LocalInstance[]
  /** Starts instance `index` again with the same id and ports (after it exited). */
  restart(index: number): Promise<LocalInstance>
  /** SIGTERM to every instance (they drain), then etcd stops and its data is removed. */
  stop(): Promise<void>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const waitReady = async (url: string, child: ChildProcess, timeoutMs: number, output: string[]): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`instance at ${url} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output.slice(-20).join("\n")}`)
    try {
      const r = await fetch(`${url}/v2/health/ready`, { signal: AbortSignal.timeout(1000) })
      if (r.status === 200) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`instance at ${url} not ready within ${timeoutMs} ms:\n${output.slice(-20).join("\n")}`)
    await sleep(100)
  }
}

export const waitExit = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once("exit", () => r()))

export const startLocalCluster = async (o: LocalClusterOptions): Promise<LocalCluster> => {
  const etcd = o.etcd ?? (await startEtcd(o.etcdBin === undefined ? {} : { bin: o.etcdBin }))
  const slotFor = async (i: number): Promise<{ port: number; grpcPort: number | undefined; id: string }> => {
    const port = await freePort()
    const grpcOn = typeof o.grpc === "function" ? o.grpc(i) : o.grpc === true
    const grpcPort = grpcOn ? await freePort() : undefined
    return { port, grpcPort, id: `i${i}-${port}` }
  }
  const slots: { port: number; grpcPort: number | undefined; id: string }[] = []
  for (let i = 0; i < o.instances; i++) slots.push(await slotFor(i))
  const instances: LocalInstance[] = []
  // Each instance keeps its own data dir (downloads, its file of record); the registry is etcd's.
  const dataRoot = await mkdtemp(join(tmpdir(), "meshkit-cluster-"))

  const launch = (index: number): LocalInstance => {
    const s = slots[index]!
    const [cmd, ...pre] = o.serveCommand
    const args = [
      ...pre,
      ...o.serveArgs,
      "--host", "127.0.0.1",
      "--port", String(s.port),
      "--grpc-port", s.grpcPort === undefined ? "off" : String(s.grpcPort),
      "--etcd", etcd.endpoint,
      "--instance-id", s.id,
      "--data-dir", join(dataRoot, s.id)
    ]
    // Own process group: a Ctrl-C in the terminal reaches only `cluster up`, which then drains them one signal each.
    const child = spawn(cmd!, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], detached: true })
    const output: string[] = []
    const onData = (buf: Buffer) => {
      for (const line of buf.toString("utf8").split("\n")) {
        if (line === "") continue
        output.push(line)
        if (output.length > 500) output.shift()
        o.onLine?.(index, line)
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    return { index, id: s.id, url: `http://127.0.0.1:${s.port}`, port: s.port, grpcPort: s.grpcPort, child, output }
  }

  // Ports are picked free just before the launch, so another process can take one in between: an
  // instance that exits for a port in use gets fresh ports and starts again (twice at most).
  const start = async (i: number): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const x = launch(i)
      instances[i] = x
      try {
        await waitReady(x.url, x.child, o.readyTimeoutMs ?? 60_000, x.output)
        return
      } catch (e) {
        if (attempt >= 3 || !x.output.some((line) => line.includes("EADDRINUSE"))) throw e
        slots[i] = await slotFor(i)
      }
    }
  }
  try {
    await Promise.all(slots.map((_, i) => start(i)))
  } catch (e) {
    for (const x of instances) x.child.kill("SIGKILL")
    if (o.etcd === undefined) await etcd.dispose()
    await rm(dataRoot, { recursive: true, force: true })
    throw e
  }

  return {
    etcd,
    instances,
    restart: async (index) => {
      const old = instances[index]!
      await waitExit(old.child)
      const x = launch(index)
      instances[index] = x
      await waitReady(x.url, x.child, o.readyTimeoutMs ?? 60_000, x.output)
      return x
    },
    stop: async () => {
      for (const x of instances) if (x.child.exitCode === null && x.child.signalCode === null) x.child.kill("SIGTERM")
      // a cleared timer: a pending one would keep the caller's process alive for the whole 30 s
      let timer: NodeJS.Timeout | undefined
      await Promise.race([Promise.all(instances.map((x) => waitExit(x.child))), new Promise((r) => (timer = setTimeout(r, 30_000)))])
      clearTimeout(timer)
      for (const x of instances) if (x.child.exitCode === null && x.child.signalCode === null) x.child.kill("SIGKILL")
      if (o.etcd === undefined) await etcd.dispose()
      await rm(dataRoot, { recursive: true, force: true })
    }
  }
}
