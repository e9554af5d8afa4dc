import { randomBytes } from "node:crypto"
import { mkdir, readdir, writeFile } from "node:fs/promises"
import { createServer as createNetServer, type AddressInfo, type Server } from "node:net"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { json, postJson, removeDir, startServer, tempDir, type Served } from "./server-harness.js"

/**
 * Defect: registering a model by http URL took the process down (`AssertionError:
 * assert(!this.paused)` in undici 7.30's client-h1.js, undici#5360) when writing the file could
 * not keep up with the socket. And a process killed mid-download, or mid-write of registry.json,
 * left `*.part-*` / `registry.json.tmp-*` files behind for ever.
 */
let dir: string
let server: Served
let origin: Server
let originUrl: string
const big = randomBytes(24 * 1024 * 1024)

beforeAll(async () => {
  dir = await tempDir("downloads")
  const data = join(dir, "data")
  await mkdir(join(data, "downloads"), { recursive: true })
  // Leftovers of a killed process (pid 2^22+1 cannot be alive: above the default pid_max of 4 M).
  await writeFile(join(data, "downloads", "m-0123456789abcdef.onnx.part-4194305-1700000000000"), "half")
  await writeFile(join(data, "registry.json.tmp-4194305-7"), "{")
  await writeFile(join(data, "downloads", "keep-me.onnx"), "a finished download")
  // The trigger (undici#5360): the whole response, then FIN (`Connection: close`), faster than
  // the receiver writes its file, so undici's parser is paused when the socket ends.
  origin = createNetServer((sock) => {
    sock.once("data", () => {
      sock.write(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${big.length}\r\nconnection: close\r\n\r\n`)
      sock.write(big)
      sock.end()
    })
    sock.on("error", () => {})
  })
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r))
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`
  server = await startServer(["--data-dir", data, "--memory", "64MiB", "--log-level", "warn", "--allow-url-hosts", "127.0.0.1", "--allow-private-urls"])
}, 120_000)

afterAll(async () => {
  await server?.stop()
  await new Promise((r) => origin?.close(r))
  await removeDir(dir)
})

describe("URL downloads", () => {
  it("registers several large URL models at once without the process dying", async () => {
    // The race is timing-dependent: several rounds of parallel downloads make it near-certain on main.
    for (let round = 0; round < 4; round++) {
      const results = await Promise.all(
        [0, 1, 2, 3].map(async (i) => {
          const res = await postJson(server, "/v1/models", { id: `big-${round}-${i}`, uri: `${originUrl}/big-${round}-${i}.onnx`, sizeBytes: big.length })
          return { status: res.status, body: await json(res) }
        })
      )
      for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(201)
    }
    expect(server.proc.exitCode).toBe(null)
    expect((await fetch(`${server.url}/v2/health/live`)).status).toBe(200)
    expect(server.stderr()).not.toMatch(/AssertionError|paused/)
  }, 120_000)

  it("removed the partial download and registry temp file a killed process left, and nothing else", async () => {
    const downloads = await readdir(join(dir, "data", "downloads"))
    expect(downloads.filter((n) => n.includes(".part-"))).toEqual([])
    expect(downloads).toContain("keep-me.onnx")
    expect((await readdir(join(dir, "data"))).filter((n) => n.includes(".tmp-"))).toEqual([])
  })
})
