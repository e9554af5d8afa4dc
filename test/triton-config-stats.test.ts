import { afterAll, describe, expect, it } from "vitest"
import { GRPC_PROTO_PATH } from "@meshkit/server"
import { clientFrom, type AnyClient, unary } from "./support/grpc-client.js"
import { getJson, infer, inferBody, withServer } from "./server-harness.js"

/**
 * Triton's model configuration and statistics extensions, read the way Triton's clients and
 * perf_analyzer read them: `GET /v2/models/{m}/config` and `/stats` (tritonclient.http
 * get_model_config / get_inference_statistics), gRPC ModelConfig / ModelStatistics with
 * Triton's field numbers (grpc_service.proto, model_config.proto).
 */
let client: AnyClient

const fixture = withServer("triton-config", {
  models: { alpha: [128 * 1024, 1], beta: [128 * 1024, 2], idle: [64 * 1024, 3] },
  args: (dir) => ["--models", dir, "--memory", "64MiB", "--data-dir", `${dir}/data`, "--grpc-port", "0", "--log-level", "warn"],
  ready: async ({ server }) => {
    client = clientFrom(GRPC_PROTO_PATH, "inference.GRPCInferenceService", server.grpcPort!)
  }
})
afterAll(() => client?.close())

const expectedConfig = (name: string) => ({
  name,
  platform: "onnxruntime_onnx",
  backend: "onnxruntime",
  max_batch_size: 1024,
  input: [{ name: "input", data_type: "TYPE_FP32", dims: [64] }],
  output: [{ name: "output", data_type: "TYPE_FP32", dims: [10] }],
  instance_group: [{ name, kind: "KIND_CPU", count: 1 }]
})

describe("model configuration", () => {
  it("server metadata lists the two extensions", async () => {
    expect((await getJson(fixture.server, "/v2")).extensions).toEqual(expect.arrayContaining(["model_configuration", "statistics"]))
  })

  it("GET /v2/models/{m}/config (and /versions/1/config) describe the model as Triton does, batch dimension apart", async () => {
    expect(await getJson(fixture.server, "/v2/models/alpha/config")).toEqual(expectedConfig("alpha"))
    expect(await getJson(fixture.server, "/v2/models/alpha/versions/1/config")).toEqual(expectedConfig("alpha"))
  })

  it("gRPC ModelConfig answers the same configuration", async () => {
    const r = await unary(client, "ModelConfig", { name: "beta", version: "" })
    expect(r.config).toEqual(expectedConfig("beta"))
  })

  it("an unknown model or version is 404 / NOT_FOUND", async () => {
    const res = await fetch(`${fixture.server.url}/v2/models/nope/config`)
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ error: 'model "nope" is not registered', requestId: res.headers.get("x-request-id") })
    expect((await fetch(`${fixture.server.url}/v2/models/alpha/versions/7/config`)).status).toBe(404)
    await expect(unary(client, "ModelConfig", { name: "nope" })).rejects.toMatchObject({ code: 5 })
  })
})

describe("statistics", () => {
  it("counts successes, batch rows, failures and the time in each phase", async () => {
    // 3 requests of 1, 2 and 4 rows, one bad request (wrong shape)
    for (const rows of [1, 2, 4]) expect((await infer(fixture.server, "alpha", inferBody(rows))).status).toBe(200)
    const bad = await infer(fixture.server, "alpha", JSON.stringify({ inputs: [{ name: "input", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }] }))
    expect(bad.status).toBe(400)

    const { model_stats } = await getJson(fixture.server, "/v2/models/alpha/stats")
    expect(model_stats).toHaveLength(1)
    const s = model_stats[0]
    expect(s).toMatchObject({ name: "alpha", version: "1", inference_count: 7, execution_count: 3 })
    expect(s.last_inference).toBeGreaterThan(Date.now() - 60_000)
    const st = s.inference_stats
    expect(st.success.count).toBe(3)
    expect(st.fail.count).toBe(1)
    for (const k of ["queue", "compute_input", "compute_infer", "compute_output"]) expect(st[k].count).toBe(3)
    expect(st.compute_infer.ns).toBeGreaterThan(0)
    // the phases add up to the request's time, which is never less than any of them
    const phases = st.queue.ns + st.compute_input.ns + st.compute_infer.ns + st.compute_output.ns
    expect(Math.abs(phases - st.success.ns)).toBeLessThanOrEqual(4)
    expect(st.cache_hit).toEqual({ count: 0, ns: 0 })
    expect(st.cache_miss).toEqual({ count: 0, ns: 0 })
    expect(s.batch_stats.map((b: any) => [b.batch_size, b.compute_infer.count])).toEqual([
      [1, 1],
      [2, 1],
      [4, 1]
    ])
  })

  it("gRPC ModelStatistics answers the same figures; no name means every model", async () => {
    expect((await infer(fixture.server, "beta", inferBody(3))).status).toBe(200)
    const one = await unary(client, "ModelStatistics", { name: "beta" })
    expect(one.model_stats).toHaveLength(1)
    expect(one.model_stats[0]).toMatchObject({ name: "beta", version: "1", inference_count: 3, execution_count: 1 })
    expect(one.model_stats[0].inference_stats.success.count).toBe(1)
    expect(one.model_stats[0].inference_stats.success.ns).toBeGreaterThan(0)

    const all = await unary(client, "ModelStatistics", {})
    const byName = Object.fromEntries(all.model_stats.map((m: any) => [m.name, m]))
    expect(Object.keys(byName).sort()).toEqual(["alpha", "beta", "idle"])
    expect(byName.idle).toMatchObject({ inference_count: 0, execution_count: 0, last_inference: 0 })

    const rest = await getJson(fixture.server, "/v2/models/stats")
    expect(rest.model_stats.map((m: any) => m.name).sort()).toEqual(["alpha", "beta", "idle"])
    expect(rest.model_stats.find((m: any) => m.name === "beta").inference_count).toBe(3)
  })

  it("gRPC ModelInfer counts too, and an unknown model is NOT_FOUND", async () => {
    const input = Float32Array.from({ length: 64 }, (_, i) => i / 64)
    await unary(client, "ModelInfer", {
      model_name: "idle",
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 64] }],
      raw_input_contents: [Buffer.from(input.buffer)]
    })
    const r = await unary(client, "ModelStatistics", { name: "idle", version: "1" })
    expect(r.model_stats[0]).toMatchObject({ inference_count: 1, execution_count: 1 })
    await expect(unary(client, "ModelStatistics", { name: "nope" })).rejects.toMatchObject({ code: 5 })
  })
})
