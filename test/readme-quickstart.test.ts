// The README's quick start, run as written: its "Serve" code block is read from README.md, each
// command run by bash in a fresh directory (only `npx meshkit` → this checkout's launcher and port
// 8000 → free ports), the server a real process, the infer and /metrics calls real curl. When the
// README's commands drift from what works, this fails.
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { freePort } from "@meshkit/server"

const root = join(import.meta.dirname, "..")
const readme = readFileSync(join(root, "README.md"), "utf8")

/** The first ```sh block after a heading that starts with `heading`, as commands (continuations joined, comments dropped). */
const codeBlockAfter = (markdown: string, heading: string): string[] => {
  const at = markdown.split("\n").findIndex((l) => l.startsWith(heading))
  if (at < 0) throw new Error(`README has no heading "${heading}"`)
  const rest = markdown.split("\n").slice(at + 1)
  const open = rest.findIndex((l) => l.trim() === "```sh")
  const close = rest.findIndex((l, i) => i > open && l.trim() === "```")
  if (open < 0 || close < 0) throw new Error(`no \`\`\`sh block under "${heading}"`)
  const commands: string[] = []
  let pending = ""
  for (const raw of rest.slice(open + 1, close)) {
    const line = raw.replace(/\s{2,}#.*$/, "")
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1)
      continue
    }
    const full = (pending + line).trim()
    pending = ""
    if (full !== "") commands.push(full)
  }
  return commands
}

const dir = mkdtempSync(join(tmpdir(), "meshkit-readme-"))
let server: ChildProcess | undefined
let serverLog = ""
afterAll(() => {
  server?.kill("SIGKILL")
  rmSync(dir, { recursive: true, force: true })
})

describe("the README quick start", () => {
  it("says the two commands are all the set-up", () => {
    expect(codeBlockAfter(readme, "## Two commands")).toEqual(["npm ci && npm start", "npm test"])
  })

  it("serves a model, answers an infer through curl and shows it in /metrics, as the README says", async () => {
    const commands = codeBlockAfter(readme, "## Serve")
    const serveAt = commands.findIndex((c) => /\bmeshkit serve\b/.test(c))
    expect(serveAt, commands.join("\n")).toBeGreaterThan(0)
    const port = await freePort()
    const grpcPort = await freePort()
    const local = (c: string) =>
      c
        .replaceAll("npx meshkit", `${JSON.stringify(process.execPath)} ${JSON.stringify(join(root, "bin/meshkit.js"))}`)
        .replaceAll("--port 8000", `--port ${port} --grpc-port ${grpcPort}`)
        .replaceAll("localhost:8000", `localhost:${port}`)
    const bash = (c: string) => spawnSync("bash", ["-o", "pipefail", "-c", local(c)], { cwd: dir, encoding: "utf8", timeout: 120_000 })

    for (const c of commands.slice(0, serveAt)) {
      const r = bash(c)
      expect(r.status, `${c}\n${r.stderr}`).toBe(0)
    }

    server = spawn("bash", ["-c", `exec ${local(commands[serveAt]!)}`], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] })
    server.stdout!.on("data", (d: Buffer) => (serverLog += d.toString()))
    server.stderr!.on("data", (d: Buffer) => (serverLog += d.toString()))
    const deadline = Date.now() + 60_000
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/v2/health/ready`).then((r) => r.ok, () => false)
      if (ok) break
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`server not ready:\n${serverLog}`)
      await new Promise((r) => setTimeout(r, 200))
    }

    const outputs = commands.slice(serveAt + 1).map((c) => {
      const r = bash(c)
      expect(r.status, `${c}\n${r.stderr}\n${serverLog}`).toBe(0)
      return r.stdout
    })
    const infer = commands.slice(serveAt + 1).findIndex((c) => c.includes("/infer"))
    const metrics = commands.slice(serveAt + 1).findIndex((c) => c.includes("/metrics"))
    expect(infer).toBeGreaterThanOrEqual(0)
    expect(metrics).toBeGreaterThan(infer)
    const answer = JSON.parse(outputs[infer]!) as { model_name: string; outputs: Array<{ name: string; shape: number[]; data: number[] }> }
    expect(answer.model_name).toBe("model-0000")
    expect(answer.outputs[0]!.shape).toEqual([1, 10])
    expect(answer.outputs[0]!.data).toHaveLength(10)
    for (const v of answer.outputs[0]!.data) expect(Number.isFinite(v)).toBe(true)
    // the one infer above is counted, as a 200
    const line = outputs[metrics]!.split("\n").find((l) => l.startsWith("meshkit_requests_total") && l.includes('status="200"'))
    expect(line, outputs[metrics]).toBeDefined()
    expect(Number(line!.split(" ").at(-1))).toBe(1)
  }, 180_000)
})
