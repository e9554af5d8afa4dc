/**
 * The baseline the server's hit path is measured against: what a person would write in an
 * afternoon with node:http and onnxruntime-node, serving one model over the same KServe v2 JSON
 * infer route. No cache, no registry, no metrics — the cost floor of "HTTP + JSON + ORT run".
 *
 * Run as a child process: node --import tsx bare-server.ts --model FILE [--port 0] [--host H]
 * Prints `bare-server: listening http://H:P (model NAME)` when ready.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { basename } from "node:path"
import { parseArgs } from "node:util"
import * as ort from "onnxruntime-node"

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" }
  }
})
if (!values.model) {
  console.error("bare-server: --model FILE is required")
  process.exit(2)
}
const modelPath = values.model
const name = basename(modelPath).replace(/\.onnx$/, "")

// The meshkit ONNX runtime's default session options (CPU, ORT's own thread counts, full graph
// optimisation, no idle spinning), so the ratio measures the server, not a setting.
const session = await ort.InferenceSession.create(modelPath, {
  executionProviders: ["cpu"],
  graphOptimizationLevel: "all",
  extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } }
})
const inferPath = `/v2/models/${name}/infer`

interface InferInput {
  name: string
  shape: number[]
  datatype: string
  data: number[]
}

const reply = (res: ServerResponse, status: number, body: string) => {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  res.end(body)
}

const infer = async (body: string): Promise<string> => {
  const req = JSON.parse(body) as { id?: string; inputs: InferInput[] }
  const feeds: Record<string, ort.Tensor> = {}
  for (const i of req.inputs) feeds[i.name] = new ort.Tensor("float32", Float32Array.from(i.data), i.shape)
  const out = await session.run(feeds)
  const outputs = session.outputNames.map((o) => {
    const t = out[o]!
    return { name: o, datatype: "FP32", shape: t.dims, data: Array.from(t.data as Float32Array) }
  })
  return JSON.stringify({ model_name: name, ...(req.id !== undefined ? { id: req.id } : {}), outputs })
}

const handle = (req: IncomingMessage, res: ServerResponse) => {
  if (req.method === "POST" && req.url === inferPath) {
    const chunks: Buffer[] = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      infer(Buffer.concat(chunks).toString("utf8")).then(
        (b) => reply(res, 200, b),
        (e: Error) => reply(res, e instanceof SyntaxError || e instanceof TypeError ? 400 : 500, JSON.stringify({ error: e.message }))
      )
    })
    return
  }
  if (req.method === "GET" && (req.url === "/v2/health/ready" || req.url === "/v2/health/live")) return reply(res, 200, "{}")
  reply(res, 404, JSON.stringify({ error: `no route ${req.method} ${req.url}` }))
}

const server = createServer(handle)
server.keepAliveTimeout = 60_000
server.listen(Number(values.port), values.host, () => {
  const addr = server.address()
  const port = typeof addr === "object" && addr ? addr.port : values.port
  console.log(`bare-server: listening http://${values.host}:${port} (model ${name})`)
})
const shutdown = () => server.close(() => void session.release().finally(() => process.exit(0)))
process.once("SIGTERM", shutdown)
process.once("SIGINT", shutdown)
