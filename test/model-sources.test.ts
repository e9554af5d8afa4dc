import { mkdir, symlink, writeFile } from "node:fs/promises"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { json, postJson, removeDir, serveFails, startServer, tempDir, writeModel, type Served } from "./server-harness.js"

/**
 * Model sources: a register call may name only files under --models / --model-roots (real paths:
 * `..`, symlinks leading out and /proc are refused) and URLs on --allow-url-hosts that do not
 * resolve to loopback or private addresses (unless --allow-private-urls), without redirects to
 * other hosts and under a size cap. A refusal is a 403 naming the rule, never a hint about the
 * file outside the roots (its existence, size or checksum).
 */
let dir: string
let strict: Served
let open: Served
let origin: Server
let originPort: number
let modelBytes: Buffer

const register = async (s: Served, body: Record<string, unknown>) => {
  const res = await postJson(s, "/v1/models", body)
  return { status: res.status, error: ((await json(res)) as { error?: string }).error ?? "" }
}

beforeAll(async () => {
  dir = await tempDir("sources")
  await mkdir(join(dir, "models"), { recursive: true })
  await mkdir(join(dir, "extra"), { recursive: true })
  await mkdir(join(dir, "outside"), { recursive: true })
  await writeModel(join(dir, "models", "base.onnx"), 64 * 1024, 1)
  await writeModel(join(dir, "extra", "ok.onnx"), 64 * 1024, 2)
  await writeModel(join(dir, "outside", "secret.onnx"), 64 * 1024, 3)
  await writeFile(join(dir, "outside", "secret.txt"), "s3cr3t")
  await symlink(join(dir, "outside", "secret.onnx"), join(dir, "extra", "link-out.onnx"))
  await symlink(join(dir, "extra", "ok.onnx"), join(dir, "extra", "link-in.onnx"))
  const { readFile } = await import("node:fs/promises")
  modelBytes = await readFile(join(dir, "extra", "ok.onnx"))

  origin = createServer((req, res) => {
    if (req.url === "/m.onnx") {
      res.writeHead(200, { "content-length": modelBytes.length })
      res.end(modelBytes)
    } else if (req.url === "/same-host") {
      res.writeHead(302, { location: "/m.onnx" })
      res.end()
    } else if (req.url === "/other-host") {
      res.writeHead(302, { location: `http://localhost:${originPort}/m.onnx` })
      res.end()
    } else if (req.url === "/unannounced") {
      // chunked, no content-length: the cap applies while streaming
      res.writeHead(200)
      res.write(modelBytes)
      res.end(modelBytes)
    } else {
      res.writeHead(404)
      res.end()
    }
  })
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r))
  originPort = (origin.address() as AddressInfo).port
  const common = ["--models", join(dir, "models"), "--model-roots", join(dir, "extra"), "--memory", "128MiB", "--log-level", "warn"]
  ;[strict, open] = await Promise.all([
    startServer([...common, "--data-dir", join(dir, "d1"), "--allow-url-hosts", `127.0.0.1:${originPort},example.invalid`]),
    startServer([...common, "--data-dir", join(dir, "d2"), "--allow-url-hosts", `127.0.0.1:${originPort}`, "--allow-private-urls", "--max-download-size", String(modelBytes.length + 10)])
  ])
}, 120_000)

afterAll(async () => {
  await Promise.all([strict?.stop(), open?.stop()])
  await new Promise((r) => origin?.close(r))
  await removeDir(dir)
})

describe("file sources", () => {
  it("accepts files under --models and --model-roots (a symlink that stays inside too)", async () => {
    expect((await register(strict, { id: "in-models", uri: join(dir, "models", "base.onnx") })).status).toBe(201)
    expect((await register(strict, { id: "in-extra", uri: `file://${join(dir, "extra", "ok.onnx")}` })).status).toBe(201)
    expect((await register(strict, { id: "link-in", uri: join(dir, "extra", "link-in.onnx") })).status).toBe(201)
    const res = await fetch(`${strict.url}/v2/models/in-extra/infer`, {
      method: "POST",
      body: JSON.stringify({ inputs: [{ name: "input", shape: [1, 64], datatype: "FP32", data: new Array(64).fill(0.5) }] })
    })
    expect(res.status).toBe(200)
  })

  it("refuses files outside the roots with 403, telling nothing about them", async () => {
    for (const uri of [join(dir, "outside", "secret.onnx"), join(dir, "outside", "missing.onnx"), "/etc/passwd", `file://${join(dir, "outside", "secret.txt")}`]) {
      const r = await register(strict, { id: "x", uri, sizeBytes: 1, sha256: "0".repeat(64) })
      expect(r.status, uri).toBe(403)
      expect(r.error).toMatch(/outside the model roots.*--model-roots/)
      // Same answer whether the file exists or not; no size, checksum or path echoed.
      expect(r.error).not.toMatch(/bytes|sha256|no such file|secret|passwd/)
    }
  })

  it("refuses .. segments, symlinks leading out, and /proc /sys /dev", async () => {
    const dots = await register(strict, { id: "x", uri: `${join(dir, "extra")}/../outside/secret.onnx` })
    expect(dots.status).toBe(403)
    expect(dots.error).toMatch(/"\.\."/)
    const out = await register(strict, { id: "x", uri: join(dir, "extra", "link-out.onnx") })
    expect(out.status).toBe(403)
    expect(out.error).toMatch(/symbolic link/)
    for (const uri of ["/proc/self/environ", "/sys/kernel/notes", "/dev/zero"]) {
      expect((await register(strict, { id: "x", uri })).status, uri).toBe(403)
    }
  })

  it("a load error shown to a data-plane caller names no absolute path", async () => {
    await writeFile(join(dir, "extra", "broken.onnx"), "not a model")
    expect((await register(strict, { id: "broken", uri: join(dir, "extra", "broken.onnx") })).status).toBe(201)
    const res = await fetch(`${strict.url}/v2/models/broken/infer`, {
      method: "POST",
      body: JSON.stringify({ inputs: [{ name: "input", shape: [1, 64], datatype: "FP32", data: new Array(64).fill(0.5) }] })
    })
    expect(res.status).toBe(503)
    const err = ((await json(res)) as { error: string }).error
    expect(err).toMatch(/broken/)
    expect(err).not.toContain(dir)
    expect(err).not.toMatch(/(^|[\s"'(])\/[^\s]*\//)
  })

  it("a missing file inside a root is a 400 that says so", async () => {
    const r = await register(strict, { id: "x", uri: join(dir, "extra", "nope.onnx") })
    expect(r.status).toBe(400)
    expect(r.error).toMatch(/no such file/)
  })
})

describe("URL sources", () => {
  it("refuses hosts not on --allow-url-hosts, naming the flag", async () => {
    const r = await register(strict, { id: "x", uri: "http://169.254.169.254/latest/meta-data" })
    expect(r.status).toBe(403)
    expect(r.error).toMatch(/--allow-url-hosts/)
    const port = await register(strict, { id: "x", uri: `http://127.0.0.1:${originPort + 1}/m.onnx` })
    expect(port.status).toBe(403)
  })

  it("refuses loopback and private addresses unless --allow-private-urls", async () => {
    const r = await register(strict, { id: "x", uri: `http://127.0.0.1:${originPort}/m.onnx` })
    expect(r.status).toBe(403)
    expect(r.error).toMatch(/--allow-private-urls/)
    // a name that does not resolve is refused too, without a download attempt
    expect((await register(strict, { id: "x", uri: "http://example.invalid/m.onnx" })).status).toBe(403)
  })

  it("downloads from an allowed host, follows same-host redirects, refuses other-host redirects", async () => {
    expect((await register(open, { id: "url-ok", uri: `http://127.0.0.1:${originPort}/m.onnx` })).status).toBe(201)
    expect((await register(open, { id: "url-redirect", uri: `http://127.0.0.1:${originPort}/same-host` })).status).toBe(201)
    const other = await register(open, { id: "x", uri: `http://127.0.0.1:${originPort}/other-host` })
    expect(other.status).toBe(403)
    expect(other.error).toMatch(/redirect to another host/)
  })

  it("caps the download size (announced or streamed)", async () => {
    const r = await register(open, { id: "x", uri: `http://127.0.0.1:${originPort}/unannounced` })
    expect(r.status).toBe(403)
    expect(r.error).toMatch(/--max-download-size/)
  })

  it("refuses every URL when no host is allowed", async () => {
    const s = await startServer(["--data-dir", join(dir, "d3"), "--memory", "64MiB", "--log-level", "warn"])
    try {
      const r = await register(s, { id: "x", uri: `http://127.0.0.1:${originPort}/m.onnx` })
      expect(r.status).toBe(403)
      expect(r.error).toMatch(/no host is allowed.*--allow-url-hosts/)
      const f = await register(s, { id: "x", uri: join(dir, "extra", "ok.onnx") })
      expect(f.status).toBe(403)
      expect(f.error).toMatch(/no model roots/)
    } finally {
      await s.stop()
    }
  }, 120_000)

  it("a model root that does not exist, or a bad host entry, stops start-up naming the flag", async () => {
    const root = await serveFails(["--model-roots", join(dir, "no-such-dir"), "--data-dir", join(dir, "d4")])
    expect(root.code).not.toBe(0)
    expect(root.stderr).toMatch(/--model-roots/)
    const host = await serveFails(["--allow-url-hosts", "http://x/", "--data-dir", join(dir, "d4")])
    expect(host.code).not.toBe(0)
    expect(host.stderr).toMatch(/allowUrlHosts|--allow-url-hosts/)
  }, 120_000)
})
