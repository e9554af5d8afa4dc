import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { getJson, infer, json, postJson, withServer, writeModel } from "./server-harness.js"

/**
 * Model warm-up (Triton's model_warmup): sample requests run after a load and before the
 * model is READY, given in the `<name>.json` metadata file or the registration body, either
 * made from the model's own input metadata ({batchSize, count, fill}) or spelled out per
 * input. A warm-up that fails fails the load with its reason.
 */
const fixture = withServer("warmup", {
  models: { auto: [128 * 1024, 1], spelled: [128 * 1024, 2], broken: [128 * 1024, 3], plain: [128 * 1024, 4] },
  prepare: async (dir) => {
    await writeFile(join(dir, "auto.json"), JSON.stringify({ warmup: { batchSize: 4, count: 3, fill: "random" } }))
    await writeFile(
      join(dir, "spelled.json"),
      JSON.stringify({
        warmup: [
          { inputs: { input: { shape: [2, 64], datatype: "FP32", zero: true } }, count: 2 },
          { inputs: { input: { shape: [1, 64], datatype: "FP32", data: Array.from({ length: 64 }, (_, i) => i / 64) } } }
        ]
      })
    )
    // names an input the model does not have: the runtime refuses it, so the load fails
    await writeFile(join(dir, "broken.json"), JSON.stringify({ warmup: [{ inputs: { nope: { shape: [1, 64], datatype: "FP32", zero: true } } }] }))
    await writeModel(join(dir, "extra.bin"), 128 * 1024, 5)
  },
  args: (dir) => ["--models", dir, "--memory", "64MiB", "--data-dir", join(dir, "data"), "--log-level", "info"]
})

/** The JSON log lines the server wrote to stderr. */
const logLines = (): Array<Record<string, unknown>> =>
  fixture.server
    .stderr()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)

const load = (model: string) => postJson(fixture.server, `/v2/repository/models/${model}/load`)

describe("model warm-up", () => {
  it("runs count × samples made from the model's inputs before the model is loaded, and serves after", async () => {
    expect((await load("auto")).status).toBe(200)
    const lines = logLines()
    const warmed = lines.findIndex((l) => l.msg === "model warmed up" && l.model === "auto")
    const loaded = lines.findIndex((l) => l.msg === "model loaded" && l.model === "auto")
    expect(warmed).toBeGreaterThanOrEqual(0)
    expect(lines[warmed]).toMatchObject({ runs: 3 })
    expect(loaded).toBeGreaterThan(warmed)
    expect((await infer(fixture.server, "auto")).status).toBe(200)
    // warm-up requests are not client requests: the statistics count only the one above
    const { model_stats } = await getJson(fixture.server, "/v2/models/auto/stats")
    expect(model_stats[0]).toMatchObject({ execution_count: 1, inference_count: 1 })
  })

  it("runs spelled-out samples (zero and given data), each its count of times", async () => {
    expect((await load("spelled")).status).toBe(200)
    expect(logLines().find((l) => l.msg === "model warmed up" && l.model === "spelled")).toMatchObject({ runs: 3 })
  })

  it("a failing warm-up fails the load with its reason, and the model never becomes READY", async () => {
    const res = await load("broken")
    expect(res.status).toBe(503)
    const body = await json(res)
    expect(body.error).toMatch(/model "broken" failed its warm-up: warm-up sample 1 of 1 \(run 1 of 1\) failed: .*nope/)
    const index = (await (await fetch(`${fixture.server.url}/v2/repository/index`, { method: "POST" })).json()) as Array<{ name: string }>
    expect(index.find((m) => m.name === "broken")).toMatchObject({ state: "UNAVAILABLE", reason: expect.stringContaining("failed its warm-up") })
    // a request gets the same reason rather than a half-warmed model
    const r = await infer(fixture.server, "broken")
    expect(r.status).toBe(503)
    expect((await json(r)).error).toContain("failed its warm-up")
  })

  it("a model without warm-up loads as before (no warm-up run)", async () => {
    expect((await load("plain")).status).toBe(200)
    expect(logLines().some((l) => l.msg === "model warmed up" && l.model === "plain")).toBe(false)
  })

  it("takes warm-up in the registration body, and names the field of a bad one", async () => {
    const uri = join(fixture.dir, "extra.bin")
    const bad = await postJson(fixture.server, "/v1/models", { id: "reg-bad", uri, format: "onnx", warmup: { batchSize: 0 } })
    expect(bad.status).toBe(400)
    expect((await json(bad)).error).toContain("warmup")
    const ok = await postJson(fixture.server, "/v1/models", { id: "reg", uri, format: "onnx", warmup: { count: 2 }, loadNow: true, sync: true })
    expect(ok.status).toBe(201)
    expect(logLines().find((l) => l.msg === "model warmed up" && l.model === "reg")).toMatchObject({ runs: 2 })
  })
})
