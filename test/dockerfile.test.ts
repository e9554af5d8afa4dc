// The container image, as far as it can be checked without a Docker engine (none on these
// machines): the Dockerfile passes a hadolint-like rule check (the checker is shown to catch each
// kind of mistake), copies every workspace, and its entry command — ENTRYPOINT + CMD with the
// image's ENV, /app, /models and /data mapped to local paths — really serves, and the image's own
// HEALTHCHECK command says ready.
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { freePort } from "@meshkit/server"
import { resolveServeArgs } from "@meshkit/cli/serve"
import { envOf, execForm, lintDockerfile, parseDockerfile } from "./support/dockerfile-lint.js"
import { writeModel } from "./server-harness.js"

const root = join(import.meta.dirname, "..")
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8")
const parsed = parseDockerfile(dockerfile)
const runtime = parsed.stages.at(-1)!

describe("the Dockerfile", () => {
  it("passes the rule check", () => {
    expect(lintDockerfile(dockerfile)).toEqual([])
  })

  it("the rule check catches each mistake it is for", () => {
    const bad = [
      "FROM node:latest",
      "ADD . /app",
      "ENV API_TOKEN=abc",
      "RUN apt-get install -y curl",
      "RUN npm install",
      "CMD node server.js"
    ].join("\n")
    const problems = lintDockerfile(bad).join("\n")
    for (const expected of [
      /not multi-stage/,
      /pin the image/,
      /ADD: use COPY/,
      /API_TOKEN: secrets/,
      /--no-install-recommends/,
      /\/var\/lib\/apt\/lists/,
      /npm install: use npm ci/,
      /shell form/,
      /no `npm ci --omit=dev`/,
      /no USER/,
      /no HEALTHCHECK/
    ])
      expect(problems).toMatch(expected)
    expect(lintDockerfile("FROM node:20.1-slim AS a\nFROM a\nUSER root\nCMD [\"x\"]").join("\n")).toMatch(/USER root/)
    expect(lintDockerfile('FROM node:20.1-slim AS a\nFROM node:20.1-slim\nCMD ["x"]\nUSER 1000').join("\n")).toMatch(/USER comes after/)
  })

  it("pins Node 20 slim, skips the GPU download unless asked, exposes REST and gRPC", () => {
    for (const s of parsed.stages.filter((s) => !parsed.stages.some((o) => o.name === s.image))) expect(s.image).toMatch(/^node:20\.\d+\.\d+-[a-z]+-slim$/)
    expect(parsed.instructions.find((i) => i.keyword === "ARG" && i.args.startsWith("ONNXRUNTIME_GPU"))?.args).toBe("ONNXRUNTIME_GPU=false")
    const install = parsed.instructions.find((i) => i.keyword === "RUN" && i.args.includes("npm ci"))!.args
    expect(install).toMatch(/if \[ "\$ONNXRUNTIME_GPU" = "true" \]; then .*ONNXRUNTIME_NODE_INSTALL=cuda12/)
    expect(runtime.instructions.find((i) => i.keyword === "EXPOSE")?.args.split(/\s+/)).toEqual(["8000", "8001"])
    // .npmrc goes in with the manifests: npm ci runs no install script (no download beyond the registry)
    expect(dockerfile).toMatch(/COPY package\.json package-lock\.json \.npmrc/)
  })

  it("copies every workspace's manifest before npm ci, and .dockerignore keeps node_modules, .git and tests out", () => {
    const workspaces = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { workspaces: string[] }).workspaces
    for (const w of workspaces) expect(dockerfile, w).toContain(`COPY ${w}/package.json ${w}/`)
    const ignore = readFileSync(join(root, ".dockerignore"), "utf8").split("\n").map((l) => l.trim())
    for (const p of ["**/node_modules", ".git", "dist", "**/test"]) expect(ignore, p).toContain(p)
    for (const copied of ["tsconfig.json", "bin", "packages", "scenarios"]) expect(existsSync(join(root, copied)), copied).toBe(true)
  })

  it("its default command line is valid meshkit serve configuration", async () => {
    const entry = execForm(runtime.instructions.find((i) => i.keyword === "ENTRYPOINT")!.args)!
    const cmd = execForm(runtime.instructions.find((i) => i.keyword === "CMD")!.args)!
    expect(entry).toEqual(["node", "/app/bin/meshkit.js", "serve"])
    const config = await resolveServeArgs(cmd, { env: envOf(runtime) })
    expect(config).toMatchObject({ host: "0.0.0.0", port: 8000, grpcPort: 8001, models: "/models", dataDir: "/data", drainTimeout: 30_000 })
  })
})

describe("the image's entry command, run here", () => {
  const dir = mkdtempSync(join(tmpdir(), "meshkit-image-"))
  let server: ChildProcess | undefined
  afterAll(() => {
    server?.kill("SIGKILL")
    rmSync(dir, { recursive: true, force: true })
  })

  it("serves with the image's ENV, ENTRYPOINT and CMD, and the HEALTHCHECK command reports ready", async () => {
    await writeModel(join(dir, "m.onnx"), 128 * 1024)
    const map = (s: string) => s.replace(/^\/app(?=\/)/, root).replace(/^\/models$/, dir).replace(/^\/data$/, join(dir, "data"))
    const entry = execForm(runtime.instructions.find((i) => i.keyword === "ENTRYPOINT")!.args)!.map(map)
    const cmd = execForm(runtime.instructions.find((i) => i.keyword === "CMD")!.args)!.map(map)
    const port = await freePort()
    const env: Record<string, string> = { ...process.env } as Record<string, string>
    for (const [k, v] of Object.entries(envOf(runtime))) env[k] = map(v)
    env.MESHKIT_PORT = String(port)
    env.MESHKIT_GRPC_PORT = String(await freePort())
    const [bin, ...args] = entry
    expect(bin).toBe("node")
    server = spawn(process.execPath, [...args, ...cmd], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    server.stdout!.on("data", (d: Buffer) => (out += d.toString()))
    server.stderr!.on("data", (d: Buffer) => (out += d.toString()))
    const deadline = Date.now() + 60_000
    while (!/meshkit serve: listening http:\/\/0\.0\.0\.0:\d+/.test(out)) {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`the entry command did not start:\n${out}`)
      await new Promise((r) => setTimeout(r, 200))
    }
    // the mapped /models was read, and CMD's --memory applied
    expect(out).toMatch(/\(1 models?, memory 1(\.0+)? GiB\)/)
    const health = execForm(runtime.instructions.find((i) => i.keyword === "HEALTHCHECK")!.args.replace(/^(--\S+\s+)*CMD\s+/, ""))!
    expect(health[0]).toBe("node")
    const h = spawnSync(process.execPath, health.slice(1), { env, encoding: "utf8", timeout: 10_000 })
    expect(h.status, h.stderr).toBe(0)
    expect((await fetch(`http://127.0.0.1:${port}/v2/health/live`)).status).toBe(200)
    // and the check fails when nothing answers (it is not a constant 0)
    const down = spawnSync(process.execPath, health.slice(1), { env: { ...env, MESHKIT_PORT: String(await freePort()) }, encoding: "utf8", timeout: 10_000 })
    expect(down.status).toBe(1)
  }, 120_000)
})
