import { describe, expect, it } from "vitest"
import { nestedArrays } from "./hardening-support.js"
import { json, withServer } from "./server-harness.js"

/**
 * Defect: deeply nested JSON answered 500 — the infer route at depth ≈ 4,100 (stack overflow in
 * the decoder's recursion), the control plane at depth ≈ 2,048 (500 with an empty body). Every
 * depth is now a 400 that says what is wrong.
 */
const f = withServer("deepjson", {
  models: { m: [64 * 1024, 1] },
  args: (dir) => ["--models", dir, "--memory", "128MiB", "--log-level", "warn"]
})

const post = (path: string, body: string, method = "POST") =>
  fetch(`${f.server.url}${path}`, { method, body, headers: { "content-type": "application/json" } })

const expect400 = async (res: Response, pattern: RegExp) => {
  const text = await res.text()
  expect(res.status, text.slice(0, 300)).toBe(400)
  expect(JSON.parse(text).error).toMatch(pattern)
}

describe("deep JSON on the infer route", () => {
  it.each([100, 5_000, 50_000])("data nested %i deep is a 400", async (depth) => {
    await expect400(await post("/v2/models/m/infer", `{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":${nestedArrays(depth)}}]}`), /nest|deep/)
  })

  it("the 64-bit integer parser (a request that mentions INT64) too", async () => {
    await expect400(await post("/v2/models/m/infer", `{"id":"INT64","inputs":[{"name":"input","shape":[1],"datatype":"INT64","data":${nestedArrays(20_000)}}]}`), /nest|deep/)
  })

  it("deep objects as data elements or parameters are a 400 too", async () => {
    const deepObject = '{"a":'.repeat(5_000) + "1" + "}".repeat(5_000)
    await expect400(await post("/v2/models/m/infer", `{"inputs":[{"name":"input","shape":[1,1],"datatype":"FP32","data":[${deepObject}]}]}`), /nest|deep|not a number/)
    await expect400(await post("/v2/models/m/infer", `{"parameters":${deepObject},"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[]}]}`), /nest|deep/)
  })
})

describe("deep JSON on the control plane", () => {
  it.each([100, 3_000, 50_000])("a register body nested %i deep is a 400 with a JSON error", async (depth) => {
    await expect400(await post("/v1/models", `{"id":"x","uri":"/x.onnx","labels":${nestedArrays(depth)}}`), /nest|deep/)
  })

  it("vmodel and load bodies too", async () => {
    await expect400(await post("/v1/vmodels/v", `{"target":${nestedArrays(3_000)}}`, "PUT"), /nest|deep/)
    await expect400(await post("/v1/models/m/load", nestedArrays(3_000)), /nest|deep/)
    const res = await fetch(`${f.server.url}/v2/health/live`)
    expect((await json(res)).live).toBe(true)
  })
})
