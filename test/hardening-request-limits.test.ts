import { describe, expect, it } from "vitest"
import { closedWithin, openSocket } from "./hardening-support.js"
import { json, postJson, withServer } from "./server-harness.js"

/**
 * Defects: a large control-plane body took the process down (`RangeError: Invalid string
 * length`: --max-body-size did not apply to /v1/*), and request decoding was outside any budget
 * (one 55 MiB JSON request took RSS from 307 to 1,348 MiB). Now /v1/* bodies have their own
 * limit (--max-control-body-size, 413), an infer request may declare at most
 * --max-request-elements tensor elements (413), and bodies being read and decoded at once share
 * --decode-budget (429 with Retry-After beyond it, 413 for a body larger than the whole budget).
 */
const f = withServer("limits", {
  models: { m: [64 * 1024, 1] },
  args: (dir) => [
    "--models", dir, "--memory", "128MiB", "--log-level", "warn",
    "--max-body-size", "4MiB", "--max-request-elements", "4096", "--decode-budget", "1MiB"
  ]
})

const row = (n: number) => Array.from({ length: n }, (_, i) => (i % 7) / 7)
const inferJson = (shape: number[], data: unknown) => JSON.stringify({ inputs: [{ name: "input", shape, datatype: "FP32", data }] })

describe("control-plane body limit", () => {
  it("answers 413 for a /v1 body over --max-control-body-size (1 MiB by default), announced or chunked", async () => {
    const big = JSON.stringify({ id: "x", uri: "/x.onnx", labels: { a: "x".repeat(2 * 1024 * 1024) } })
    const res = await fetch(`${f.server.url}/v1/models`, { method: "POST", body: big, headers: { "content-type": "application/json" } })
    expect(res.status).toBe(413)
    expect((await json(res)).error).toMatch(/--max-control-body-size/)
    // chunked: no content-length to refuse on, the limit applies while reading
    const chunks = async function* () {
      for (let i = 0; i < 8; i++) yield new TextEncoder().encode("x".repeat(512 * 1024))
    }
    const streamed = await fetch(`${f.server.url}/v1/vmodels/v`, { method: "PUT", body: ReadableStream.from(chunks()), duplex: "half" } as RequestInit)
    expect(streamed.status).toBe(413)
    expect((await fetch(`${f.server.url}/v2/health/live`)).status).toBe(200)
  })
})

describe("tensor element cap", () => {
  it("answers 413 naming --max-request-elements for a request that declares more elements", async () => {
    const ok = await fetch(`${f.server.url}/v2/models/m/infer`, { method: "POST", body: inferJson([64, 64], row(64 * 64)) })
    expect(ok.status).toBe(200)
    const over = await fetch(`${f.server.url}/v2/models/m/infer`, { method: "POST", body: inferJson([65, 64], row(65 * 64)) })
    expect(over.status).toBe(413)
    expect((await json(over)).error).toMatch(/--max-request-elements/)
    // a shape whose element count overflows is refused the same way, before any allocation
    const huge = await fetch(`${f.server.url}/v2/models/m/infer`, { method: "POST", body: inferJson([2 ** 40, 2 ** 40, 64], []) })
    expect(huge.status).toBe(413)
  })
})

describe("decode budget", () => {
  it("refuses a body larger than the whole budget with 413", async () => {
    const res = await fetch(`${f.server.url}/v2/models/m/infer`, { method: "POST", body: inferJson([1, 64], row(64)) + " ".repeat(1536 * 1024) })
    expect(res.status).toBe(413)
    expect((await json(res)).error).toMatch(/--decode-budget/)
  })

  it("answers 429 with Retry-After while other bodies hold the budget, and serves again once they are gone", async () => {
    // Three clients announce 400 KiB bodies and send only part: together they hold 1.2 MiB > 1 MiB.
    const holders = await Promise.all([0, 1, 2].map(() => openSocket(f.server.url)))
    for (const s of holders) s.write(`POST /v2/models/m/infer HTTP/1.1\r\nhost: x\r\ncontent-length: ${400 * 1024}\r\n\r\n{"inputs":`)
    await new Promise((r) => setTimeout(r, 300))
    const body = inferJson([1, 64], row(64)) + " ".repeat(400 * 1024)
    const res = await fetch(`${f.server.url}/v2/models/m/infer`, { method: "POST", body })
    expect(res.status).toBe(429)
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    expect((await json(res)).error).toMatch(/--decode-budget/)
    for (const s of holders) s.destroy()
    await Promise.all(holders.map((s) => closedWithin(s, 2000)))
    await new Promise((r) => setTimeout(r, 200))
    const again = await fetch(`${f.server.url}/v2/models/m/infer`, { method: "POST", body })
    expect(again.status).toBe(200)
  })
})

describe("the control plane still works", () => {
  it("registers with a small body", async () => {
    const res = await postJson(f.server, "/v1/models", { id: "dup", uri: "relative.onnx" })
    expect(res.status).toBeLessThan(500)
  })
})
