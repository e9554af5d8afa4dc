import { spawn, type ChildProcess } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll } from "vitest"
import { makeModel } from "@meshkit/onnx-models"

/**
 * Test support for the server end-to-end tests: a real `node bin/meshkit.js serve` process on
 * free ports, with real generated ONNX models in a temp dir, talked to over real sockets.
 */
export const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)))
export const BIN = join(ROOT, "bin/meshkit.js")
export const MNIST = resolve(ROOT, "../shared/models/mnist/model.onnx")

/** Start-up imports effect, platform, grpc and onnxruntime: slow on a loaded 2-core machine. */
const START_TIMEOUT_MS = 90_000

export interface Served {
  readonly url: string
  readonly grpcPort: number | null
  readonly readyLine: string
  readonly proc: ChildProcess
  readonly stderr: () => string
  /** resolves with the exit code once the process has exited */
  readonly exited: Promise<number | null>
  /** SIGTERM and wait for exit (SIGKILL after `graceMs`) */
  stop(graceMs?: number): Promise<number | null>
}

export const tempDir = (prefix: string) => mkdtemp(join(tmpdir(), `meshkit-${prefix}-`))
export const removeDir = (dir: string) => rm(dir, { recursive: true, force: true })

/** Run `meshkit serve` with `args` (plus --port 0 unless given) and wait for the ready line. */
export const startServer = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}): Promise<Served> =>
  new Promise((resolvePromise, reject) => {
    const full = ["serve", ...(args.includes("--port") ? [] : ["--port", "0"]), ...args]
    const proc = spawn(process.execPath, [BIN, ...full], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    let ready = false
    const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)))
    const timer = setTimeout(() => {
      proc.kill("SIGKILL")
      reject(new Error(`meshkit serve did not become ready in ${START_TIMEOUT_MS} ms\nstdout: ${out}\nstderr: ${err}`))
    }, START_TIMEOUT_MS)
    proc.stderr!.on("data", (c: Buffer) => (err += c.toString()))
    proc.stdout!.on("data", (c: Buffer) => {
      out += c.toString()
      const m = /meshkit serve: listening (https?):\/\/([\d.]+):(\d+) grpc (?:[\d.]+:(\d+)|off)[^\n]*\n/.exec(out)
      if (m && !ready) {
        ready = true
        clearTimeout(timer)
        const served: Served = {
          url: `${m[1]}://${m[2]}:${m[3]}`,
          grpcPort: m[4] ? Number(m[4]) : null,
          readyLine: m[0].trim(),
          proc,
          stderr: () => err,
          exited,
          stop: async (graceMs = 30_000) => {
            if (proc.exitCode !== null) return proc.exitCode
            proc.kill("SIGTERM")
            const t = setTimeout(() => proc.kill("SIGKILL"), graceMs)
            const code = await exited
            clearTimeout(t)
            return code
          }
        }
        resolvePromise(served)
      }
    })
    proc.once("exit", (code) => {
      if (!ready) {
        clearTimeout(timer)
        reject(new Error(`meshkit serve exited with ${code} before becoming ready\nstdout: ${out}\nstderr: ${err}`))
      }
    })
  })

/** Run `meshkit serve` expecting it to fail at start; returns its exit code and output. */
export const serveFails = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolvePromise) => {
    const proc = spawn(process.execPath, [BIN, "serve", "--port", "0", ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    proc.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
    proc.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    const t = setTimeout(() => proc.kill("SIGKILL"), START_TIMEOUT_MS)
    proc.once("exit", (code) => {
      clearTimeout(t)
      resolvePromise({ code, stdout, stderr })
    })
  })

/** Write a generated MLP (input "input" [-1, 64] → output "output" [-1, 10]) of about `sizeBytes`. */
export const writeModel = async (path: string, sizeBytes: number, seed = 1): Promise<number> => {
  const bytes = makeModel({ sizeBytes, seed })
  await writeFile(path, bytes)
  return bytes.byteLength
}

/** A KServe v2 JSON infer body for the generated models: `rows` × 64 FP32 values. */
export const inferBody = (rows = 1, offset = 0): string =>
  JSON.stringify({
    inputs: [{ name: "input", shape: [rows, 64], datatype: "FP32", data: Array.from({ length: rows * 64 }, (_, i) => Math.sin(i + offset) / 2) }]
  })

export const infer = (s: Served, model: string, body = inferBody()) =>
  fetch(`${s.url}/v2/models/${encodeURIComponent(model)}/infer`, { method: "POST", body, headers: { "content-type": "application/json" } })

/** A response body as JSON (untyped: tests check its shape). */
export const json = async (res: Response): Promise<any> => res.json()

export const getJson = async <T = any>(s: Served, path: string): Promise<T> => {
  const res = await fetch(`${s.url}${path}`)
  return (await res.json()) as T
}

export const postJson = (s: Served, path: string, body?: unknown, method = "POST") =>
  fetch(`${s.url}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { "content-type": "application/json" } })

export const repositoryIndex = async (s: Served): Promise<Record<string, string>> => {
  const res = await fetch(`${s.url}/v2/repository/index`, { method: "POST" })
  const rows = (await res.json()) as Array<{ name: string; state: string }>
  return Object.fromEntries(rows.map((r) => [r.name, r.state]))
}

/** The value of one Prometheus sample, e.g. metric(text, 'meshkit_load_duration_seconds_count{outcome="success"}'). */
export const metric = (text: string, sample: string): number | undefined => {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1))
  }
  return undefined
}

export const metrics = async (s: Served): Promise<string> => (await fetch(`${s.url}/metrics`)).text()

/** Poll `check` until it returns true (or time out). */
export const eventually = async (check: () => Promise<boolean>, timeoutMs = 20_000, everyMs = 50): Promise<void> => {
  const end = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export interface ServerFixture {
  /** the temp dir holding the models (and the data dir, if the args put it there) */
  readonly dir: string
  readonly server: Served
}

/**
 * One `meshkit serve` for a whole test file: before all tests, a temp dir with `models`
 * written into it (name → [size in bytes, seed]), the server started with `args(dir)` and
 * `ready` run once it listens; after all, the server stopped and the dir removed. Read
 * `fixture.server` / `fixture.dir` inside tests (they are set once the hook has run).
 */
export const withServer = (
  name: string,
  opts: {
    readonly models?: Readonly<Record<string, readonly [sizeBytes: number, seed: number]>>
    /** more files to write before the start (broken models, metadata) */
    readonly prepare?: (dir: string) => Promise<void>
    /** the flags; `bytes` has the file size of each written model */
    readonly args: (dir: string, bytes: Readonly<Record<string, number>>) => ReadonlyArray<string>
    readonly env?: NodeJS.ProcessEnv
    readonly ready?: (f: ServerFixture) => Promise<void>
  }
): ServerFixture => {
  const f = {} as { dir: string; server: Served }
  beforeAll(async () => {
    f.dir = await tempDir(name)
    const bytes: Record<string, number> = {}
    for (const [model, [size, seed]] of Object.entries(opts.models ?? {})) bytes[model] = await writeModel(join(f.dir, `${model}.onnx`), size, seed)
    await opts.prepare?.(f.dir)
    f.server = await startServer(opts.args(f.dir, bytes), opts.env)
    await opts.ready?.(f)
  }, 120_000)
  afterAll(async () => {
    await f.server?.stop()
    if (f.dir) await removeDir(f.dir)
  })
  return f
}
