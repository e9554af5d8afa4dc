import { request } from "node:http"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { eventually, inferBody, metric, metrics, repositoryIndex, withServer } from "./server-harness.js"

/**
 * The miss path starts the load when a request's headers arrive, not after its body: a cold
 * model loads while a large tensor is still on the wire. The request still counts as the miss
 * that caused the load, and a request the server refuses before any model is touched (unknown
 * model) loads nothing.
 */
const fixture = withServer("arrival", {
  models: { alpha: [256 * 1024, 1], beta: [256 * 1024, 2] },
  args: (dir) => ["--models", dir, "--memory", "64MiB", "--data-dir", join(dir, "data"), "--log-level", "warn"]
})

/** POST the first `split` bytes of `body`, then the rest once `between` resolves. */
const slowInfer = (url: string, model: string, body: string, split: number, between: () => Promise<void>) =>
  new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(`${url}/v2/models/${model}/infer`, { method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      let text = ""
      res.on("data", (c: Buffer) => (text += c.toString()))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }))
    })
    req.on("error", reject)
    req.write(body.slice(0, split))
    between().then(() => req.end(body.slice(split)), reject)
  })

describe("loading on arrival", () => {
  it("loads a cold model while the request body is still arriving, and counts that request as the miss", async () => {
    const s = fixture.server
    expect((await repositoryIndex(s)).alpha).toBe("UNAVAILABLE")
    const before = await metrics(s)
    const body = inferBody()
    const res = await slowInfer(s.url, "alpha", body, 10, () => eventually(async () => (await repositoryIndex(s)).alpha === "READY", 20_000, 50))
    expect(res.status, res.text).toBe(200)
    expect(JSON.parse(res.text)).toMatchObject({ model_name: "alpha", outputs: [{ name: "output", shape: [1, 10] }] })
    const after = await metrics(s)
    const delta = (name: string) => (metric(after, name) ?? 0) - (metric(before, name) ?? 0)
    expect(delta("meshkit_cache_misses_total")).toBe(1)
    expect(delta("meshkit_cache_hits_total")).toBe(0)
  })

  it("a request with a body that is not valid still gets its 400, and the model it named is loaded for the next", async () => {
    const s = fixture.server
    const res = await fetch(`${s.url}/v2/models/beta/infer`, { method: "POST", body: "{not json", headers: { "content-type": "application/json" } })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: expect.any(String) })
    await eventually(async () => (await repositoryIndex(s)).beta === "READY", 20_000, 50)
  })
})
