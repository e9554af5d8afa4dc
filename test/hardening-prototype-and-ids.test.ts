import { describe, expect, it } from "vitest"
import { json, postJson, withServer } from "./server-harness.js"

/**
 * Defects: the 64-bit integer JSON path (taken by any request that mentions INT64) turned a
 * `"__proto__"` key into the decoded object's prototype, so fields could be smuggled in where
 * JSON.parse sees none; vmodel ids were not validated like model ids. (registry.json.tmp-*
 * leftovers: hardening-url-downloads.test.ts.)
 */
const f = withServer("proto", {
  models: { m: [64 * 1024, 1] },
  args: (dir) => ["--models", dir, "--memory", "128MiB", "--log-level", "warn"]
})

const input = { name: "input", shape: [1, 64], datatype: "FP32", data: new Array(64).fill(0.25) }

describe("__proto__ in an INT64-path request", () => {
  it("is an own field as JSON.parse makes it, so smuggled inputs are not seen: 400", async () => {
    const body = JSON.stringify({ id: "INT64", __proto__: null }).replace(/}$/, `,"__proto__":${JSON.stringify({ inputs: [input] })}}`)
    expect(body).toContain('"__proto__":{"inputs"')
    const res = await fetch(`${f.server.url}/v2/models/m/infer`, { method: "POST", body })
    expect(res.status).toBe(400)
    expect((await json(res)).error).toMatch(/missing field "inputs"/)
  })

  it("a request with a harmless __proto__ field beside real inputs is answered as JSON.parse would", async () => {
    const body = `{"id":"INT64","__proto__":{"x":1},"inputs":[${JSON.stringify(input)}]}`
    const res = await fetch(`${f.server.url}/v2/models/m/infer`, { method: "POST", body })
    expect(res.status).toBe(200)
    expect((await json(res)).id).toBe("INT64")
  })
})

describe("vmodel ids", () => {
  it.each([["a b"], ["..etc"], ["-x"], ["_x"], ["ünï"], ["a/b"]])("refuses %j like a model id", async (id) => {
    const res = await postJson(f.server, `/v1/vmodels/${encodeURIComponent(id)}`, { target: "m" }, "PUT")
    expect(res.status).toBe(400)
    expect((await json(res)).error).toMatch(/vmodel ids are 1-200 characters/)
  })

  it("accepts a valid one", async () => {
    const res = await postJson(f.server, "/v1/vmodels/v-1.ok", { target: "m" }, "PUT")
    expect(res.status).toBe(200)
  })
})
