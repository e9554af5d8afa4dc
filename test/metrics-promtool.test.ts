// /metrics as Prometheus reads it: a real server answers infers over HTTP and gRPC (and a few
// errors), its exposition is piped into `promtool check metrics` (Debian's prometheus package,
// installed by the harness when missing) and must come back clean. Also: a transport label on the
// request series, no model label unless --model-metrics, no doubled prefix, no gauge named _total.
import { spawnSync } from "node:child_process"
import * as grpc from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { grpcChannelOptions, loadGrpcDefinition } from "@meshkit/server"
import { infer, inferBody, metrics, removeDir, startServer, tempDir, writeModel, type Served } from "./server-harness.js"
import { ensureDebianPackage, listedDependency } from "./support/system-deps.js"

let promtool: string
let dir: string
const servers: Served[] = []

beforeAll(async () => {
  promtool = ensureDebianPackage(listedDependency("prometheus"))!
  dir = await tempDir("promtool")
  for (const [name, seed] of [["alpha", 1], ["beta", 2]] as const) await writeModel(`${dir}/${name}.onnx`, 256 * 1024, seed)
}, 15 * 60_000)
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()))
  if (dir) await removeDir(dir)
})

const start = async (extra: string[]): Promise<Served> => {
  const s = await startServer(["--models", dir, "--memory", "64MiB", "--data-dir", `${dir}/data-${servers.length}`, "--grpc-port", "0", "--log-level", "warn", ...extra])
  servers.push(s)
  return s
}

/** Some traffic on both transports: successes on two models, a 404 and a 400 on each. */
const traffic = async (s: Served): Promise<void> => {
  for (const m of ["alpha", "beta", "alpha"]) expect((await infer(s, m)).status).toBe(200)
  expect((await infer(s, "nope")).status).toBe(404)
  expect((await infer(s, "alpha", "{not json")).status).toBe(400)
  const { GRPCInferenceService } = loadGrpcDefinition()
  const client = new GRPCInferenceService(`127.0.0.1:${s.grpcPort}`, grpc.credentials.createInsecure(), grpcChannelOptions) as grpc.Client & Record<string, Function>
  const call = (request: unknown) =>
    new Promise<{ ok: boolean; code?: number }>((resolve) =>
      client.ModelInfer!(request, new grpc.Metadata(), (err: grpc.ServiceError | null) => resolve(err ? { ok: false, code: err.code } : { ok: true }))
    )
  const body = JSON.parse(inferBody()) as { inputs: Array<{ data: number[] }> }
  const input = (model: string) => ({ model_name: model, inputs: [{ name: "input", datatype: "FP32", shape: [1, 64], contents: { fp32_contents: body.inputs[0]!.data } }] })
  try {
    expect(await call(input("alpha"))).toEqual({ ok: true })
    expect(await call(input("beta"))).toEqual({ ok: true })
    expect(await call(input("nope"))).toEqual({ ok: false, code: grpc.status.NOT_FOUND })
  } finally {
    client.close()
  }
}

const promtoolCheck = (text: string) => {
  const r = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" })
  return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() }
}

const requestSamples = (text: string) => text.split("\n").filter((l) => l.startsWith("meshkit_requests_total{"))

describe("/metrics under promtool", () => {
  it("is clean, with a transport label and no model label by default", async () => {
    const s = await start([])
    await traffic(s)
    const text = await metrics(s)
    expect(promtoolCheck(text)).toEqual({ code: 0, out: "" })

    const samples = requestSamples(text)
    expect(samples).toContain('meshkit_requests_total{status="200",transport="http"} 3')
    expect(samples).toContain('meshkit_requests_total{status="200",transport="grpc"} 2')
    expect(samples).toContain('meshkit_requests_total{status="404",transport="http"} 1')
    expect(samples).toContain('meshkit_requests_total{status="404",transport="grpc"} 1')
    expect(samples).toContain('meshkit_requests_total{status="400",transport="http"} 1')
    expect(text).not.toMatch(/model="/)
    // prom-client's process metrics under the one namespace
    expect(text).toMatch(/^meshkit_process_cpu_seconds_total /m)
    expect(text).toMatch(/^# TYPE meshkit_nodejs_active_handles gauge/m)
    expect(text).not.toMatch(/meshkit_process_process_|meshkit_process_nodejs_/)
    expect(text).not.toMatch(/^meshkit_nodejs_active_\w+_total/m)
  })

  it("is clean with --model-metrics too, which labels each request series with its model", async () => {
    const s = await start(["--model-metrics"])
    await traffic(s)
    const text = await metrics(s)
    expect(promtoolCheck(text)).toEqual({ code: 0, out: "" })
    const samples = requestSamples(text)
    expect(samples).toContain('meshkit_requests_total{model="alpha",status="200",transport="http"} 2')
    expect(samples).toContain('meshkit_requests_total{model="beta",status="200",transport="grpc"} 1')
    expect(samples).toContain('meshkit_requests_total{model="",status="404",transport="http"} 1')
  })

  it("promtool does flag what it should (the check is not vacuous)", () => {
    const bad = "# HELP x_total a gauge named like a counter\n# TYPE x_total gauge\nx_total 1\n"
    const r = promtoolCheck(bad)
    expect(r.out).toMatch(/non-counter metrics should not have "_total" suffix/)
  })
})
