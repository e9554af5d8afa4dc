import { linkSync, readdirSync } from "node:fs"
import { Agent, request } from "node:http"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { parseBytes } from "@meshkit/core"
import { makeModels as makeOnnxModels } from "@meshkit/onnx-models"
import { meshkitBin, portFrom, startChild, tsxImport, type Child } from "./children.js"

/** Model files and the two servers under test, as child processes. */

export interface Models {
  readonly dir: string
  /** absolute paths, sorted */
  readonly files: ReadonlyArray<string>
  /** model names as the server registers them (file name without .onnx) */
  readonly names: ReadonlyArray<string>
}

/** Real ONNX MLPs from the model maker users have (`meshkit models make` calls the same function). */
export const makeModels = async (dir: string, o: { count: number; size: string; prefix: string; seed?: number }): Promise<Models> => {
  await makeOnnxModels({ outDir: dir, count: o.count, sizeBytes: parseBytes(o.size), seed: o.seed ?? 1, prefix: o.prefix })
  const files = readdirSync(dir).filter((f) => f.startsWith(o.prefix) && f.endsWith(".onnx")).sort()
  if (files.length !== o.count) throw new Error(`the model maker wrote ${files.length} models into ${dir}, expected ${o.count}`)
  return { dir, files: files.map((f) => join(dir, f)), names: files.map((f) => f.replace(/\.onnx$/, "")) }
}

/**
 * `count` registered models from `distinct` generated files: the rest are hard links to them
 * under their own names. The server sees `count` separate models (own name, own session, own
 * memory); only the disk holds fewer bytes, which saves minutes of writing 4 GB per run.
 */
export const makeLinkedModels = async (dir: string, o: { count: number; distinct: number; size: string; prefix: string }): Promise<Models> => {
  const base = await makeModels(dir, { count: o.distinct, size: o.size, prefix: o.prefix })
  const files = [...base.files]
  const names = [...base.names]
  for (let i = o.distinct; i < o.count; i++) {
    const name = `${o.prefix}-${String(i).padStart(4, "0")}`
    const file = join(dir, `${name}.onnx`)
    linkSync(base.files[i % o.distinct]!, file)
    files.push(file)
    names.push(name)
  }
  return { dir, files, names }
}

export interface RunningServer {
  readonly child: Child
  readonly baseUrl: string
  readonly inferUrl: (model: string) => string
}

const running = (child: Child): RunningServer => {
  const baseUrl = `http://127.0.0.1:${portFrom(child.readyLine)}`
  return { child, baseUrl, inferUrl: (m) => `${baseUrl}/v2/models/${encodeURIComponent(m)}/infer` }
}

export const startMeshkit = async (o: { models: string; memory: string; dataDir: string; extra?: ReadonlyArray<string> }): Promise<RunningServer> =>
  running(
    await startChild({
      label: "meshkit serve",
      command: process.execPath,
      args: [meshkitBin, "serve", "--models", o.models, "--port", "0", "--memory", o.memory, "--data-dir", o.dataDir, ...(o.extra ?? [])],
      ready: /meshkit serve: listening http:\/\//,
      timeoutMs: 120_000
    })
  )

const bareServerFile = fileURLToPath(new URL("../hit-path/bare-server.ts", import.meta.url))

export const startBare = async (modelFile: string): Promise<RunningServer> =>
  running(
    await startChild({
      label: "bare-server",
      command: process.execPath,
      args: ["--import", tsxImport(), bareServerFile, "--model", modelFile, "--port", "0"],
      ready: /bare-server: listening http:\/\//,
      timeoutMs: 60_000
    })
  )

/** A KServe v2 JSON infer body for an FP32 input [1, dim], deterministic values. */
export const inferBody = (inputName: string, dim: number): string => {
  const data = Array.from({ length: dim }, (_, i) => Math.round(Math.sin(i + 1) * 1000) / 1000)
  return JSON.stringify({ inputs: [{ name: inputName, shape: [1, dim], datatype: "FP32", data }] })
}

/** The input name and width of a generated model, read with onnxruntime-node itself. */
export const inputOf = async (modelFile: string): Promise<{ name: string; dim: number }> => {
  const ort = await import("onnxruntime-node")
  const s = await ort.InferenceSession.create(modelFile)
  try {
    const meta = s.inputMetadata[0]
    if (!meta || !meta.isTensor) throw new Error(`${modelFile}: first input is not a tensor`)
    const dim = meta.shape[meta.shape.length - 1]
    if (typeof dim !== "number" || dim <= 0) throw new Error(`${modelFile}: input ${meta.name} has no fixed width (shape ${JSON.stringify(meta.shape)})`)
    return { name: meta.name, dim }
  } finally {
    await s.release()
  }
}

/** One request, checked: the status and the time it took in ms. */
/**
 * One keep-alive connection per server, on node:http: the latency figures time the server, not
 * the client. (undici's fetch added about 2 ms per request here, measured on the same hit: 4.8
 * ms through fetch, 2.9 ms through node:http.)
 */
const agent = new Agent({ keepAlive: true, maxSockets: 4 })

export const timedInfer = (url: string, body: string, headers: Readonly<Record<string, string>> = {}): Promise<{ status: number; ms: number; text: string }> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    const req = request(url, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers } }, (res) => {
      const chunks: Buffer[] = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, text: Buffer.concat(chunks).toString() }))
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end(body)
  })
