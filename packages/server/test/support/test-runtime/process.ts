import { ensureDebianPackage, listedDependency } from "../../../../../test/support/system-deps.js"
import { execFileSync, spawn, type ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"

/**
 * The test runtime (./main.mjs) as a child process the tests start, kill and restart: its
 * stdout lines are kept as parsed events (every SPI call and inference it saw).
 */
export const TEST_RUNTIME_MAIN = fileURLToPath(new URL("./main.mjs", import.meta.url))
/** The same runtime in Python (Debian's python3-grpcio), for a non-Node client of the SPI. */
export const PY_RUNTIME_MAIN = fileURLToPath(new URL("./py_runtime.py", import.meta.url))
const HERE = fileURLToPath(new URL(".", import.meta.url))
const V2_PROTO_DIR = fileURLToPath(new URL("../../../proto/", import.meta.url))
/** Debian's interpreter: the python3 first on PATH here may not see Debian's modules. */
export const DEBIAN_PYTHON = "/usr/bin/python3"

export interface RuntimeEvent {
  readonly event: string
  readonly t: number
  readonly [k: string]: unknown
}

export interface TestRuntime {
  readonly port: number
  readonly address: string
  readonly proc: ChildProcess
  /** every event so far, across restarts */
  readonly events: RuntimeEvent[]
  of(event: string): RuntimeEvent[]
  /** SIGKILL, as a crash: no goodbye on the wire */
  kill(): Promise<void>
  /** start again on the same port, with the same flags */
  restart(): Promise<void>
  stop(): Promise<void>
}

const spawnRuntime = (command: ReadonlyArray<string>, args: ReadonlyArray<string>, events: RuntimeEvent[]): Promise<{ proc: ChildProcess; port: number }> =>
  new Promise((resolve, reject) => {
    const proc = spawn(command[0]!, [...command.slice(1), ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let buf = ""
    let err = ""
    let started = false
    const timer = setTimeout(() => {
      proc.kill("SIGKILL")
      reject(new Error(`test-runtime did not start in 30 s: ${err}`))
    }, 30_000)
    proc.stderr!.on("data", (c: Buffer) => (err += c.toString()))
    proc.stdout!.on("data", (c: Buffer) => {
      buf += c.toString()
      let nl: number
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        const m = /^test-runtime listening (\d+)$/.exec(line)
        if (m) {
          started = true
          clearTimeout(timer)
          resolve({ proc, port: Number(m[1]) })
        } else if (line.startsWith("{")) events.push(JSON.parse(line) as RuntimeEvent)
      }
    })
    proc.once("exit", (code) => {
      if (!started) {
        clearTimeout(timer)
        reject(new Error(`test-runtime exited with ${code}: ${err}`))
      }
    })
  })

/** `command` runs the runtime (default: main.mjs with this Node); `args` are its flags. */
export const startTestRuntime = async (args: ReadonlyArray<string> = [], command: ReadonlyArray<string> = [process.execPath, TEST_RUNTIME_MAIN]): Promise<TestRuntime> => {
  const events: RuntimeEvent[] = []
  let { proc, port } = await spawnRuntime(command, args, events)
  const exitOf = (p: ChildProcess) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => p.once("exit", () => r())))
  const rt: TestRuntime = {
    get port() {
      return port
    },
    get address() {
      return `127.0.0.1:${port}`
    },
    get proc() {
      return proc
    },
    events,
    of: (event) => events.filter((e) => e.event === event),
    async kill() {
      proc.kill("SIGKILL")
      await exitOf(proc)
    },
    async restart() {
      const withPort = [...args.filter((_, i) => args[i] !== "--port" && args[i - 1] !== "--port"), "--port", String(port)]
      ;({ proc, port } = await spawnRuntime(command, withPort, events))
    },
    async stop() {
      proc.kill("SIGTERM")
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000)
      await exitOf(proc)
      clearTimeout(t)
    }
  }
  return rt
}

/** A "linear" model file for the test runtime: W is out × in, b has out values; `pad` grows the file. */
export const linearModel = (W: number[][], b: number[], opts: { readonly pad?: number; readonly delayMs?: number; readonly loadDelayMs?: number } = {}): string =>
  JSON.stringify({ W, b, delayMs: opts.delayMs ?? 0, loadDelayMs: opts.loadDelayMs ?? 0, pad: "x".repeat(opts.pad ?? 0) })

/**
 * Debian's python3-grpcio and python3-grpc-tools, installed when missing (as root; otherwise a
 * clear error naming the packages). A local stand-in for the shared system-deps helper.
 */
export const ensurePythonGrpc = (): void => {
  ensureDebianPackage(listedDependency("python3-grpcio"))
}

/** Python stubs for model-runtime.proto and meshkit's v2 proto, generated into `dir` with grpc_tools. */
export const generatePythonStubs = (dir: string): void => {
  execFileSync(DEBIAN_PYTHON, ["-m", "grpc_tools.protoc", `-I${HERE}`, `-I${V2_PROTO_DIR}`, `--python_out=${dir}`, `--grpc_python_out=${dir}`, "model-runtime.proto", "grpc_predict_v2.proto"], {
    stdio: "pipe"
  })
}

export const startPythonTestRuntime = (stubsDir: string, args: ReadonlyArray<string> = []): Promise<TestRuntime> =>
  startTestRuntime(args, [DEBIAN_PYTHON, "-u", PY_RUNTIME_MAIN, stubsDir])
