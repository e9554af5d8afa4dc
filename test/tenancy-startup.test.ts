/**
 * Start-up checks of tenancy and security, on the real `meshkit serve`: an open server (no
 * tenants file) refuses a non-loopback --host unless --insecure-open; a bad tenants file names
 * the field; shares over --memory are refused; TLS flags that do not go together are refused;
 * and /metrics needs a token once it names models (--model-metrics).
 */
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { removeDir, serveFails, startServer, tempDir } from "./server-harness.js"
import { call, sha256, writeTenantsFile } from "./tenancy-harness.js"

let dir = ""
beforeAll(async () => {
  dir = await tempDir("tenancy-startup")
})
afterAll(async () => {
  if (dir) await removeDir(dir)
})

describe("an open server (no tenants file)", () => {
  it("refuses a non-loopback --host without --insecure-open, with a clear error", async () => {
    const r = await serveFails(["--host", "0.0.0.0", "--data-dir", join(dir, "d1")])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("refusing to listen on --host 0.0.0.0 without authentication: give --tenants FILE, or --insecure-open")
  }, 120_000)

  it("serves on a non-loopback --host with --insecure-open, and on loopback by default", async () => {
    const s = await startServer(["--host", "0.0.0.0", "--insecure-open", "--data-dir", join(dir, "d2"), "--log-level", "warn"])
    try {
      expect(s.readyLine).toContain("listening http://0.0.0.0:")
      const port = new URL(s.url).port
      expect((await fetch(`http://127.0.0.1:${port}/v1/models`)).status).toBe(200)
    } finally {
      await s.stop()
    }
  }, 120_000)
})

describe("the tenants file at start-up", () => {
  it("names the bad field", async () => {
    const path = join(dir, "bad.yaml")
    await writeFile(
      path,
      [
        `admin: { tokenSha256: "${sha256("a")}" }`,
        "tenants:",
        `  - { id: one, tokenSha256: "${sha256("1")}" }`,
        `  - { id: two, tokenSha256: "${sha256("2")}" }`,
        `  - { id: three, tokenSha256: "${sha256("3")}", memory: plenty }`
      ].join("\n")
    )
    const r = await serveFails(["--tenants", path, "--data-dir", join(dir, "d3")])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("tenants[2].memory: expected bytes like 2GiB or a fraction in (0,1]")
  }, 120_000)

  it("refuses shares adding up to more than --memory", async () => {
    const sub = join(dir, "over")
    await mkdir(sub)
    const path = writeTenantsFile(sub, "admin", [
      { id: "a", token: "ta", memory: "200MiB" },
      { id: "b", token: "tb", memory: 0.5 }
    ])
    const r = await serveFails(["--tenants", path, "--memory", "256MiB", "--data-dir", join(dir, "d4")])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("tenant memory shares add up to 328 MiB, more than --memory 256 MiB")
  }, 120_000)

  it("refuses a missing file and half a TLS configuration", async () => {
    const missing = await serveFails(["--tenants", join(dir, "nope.yaml"), "--data-dir", join(dir, "d5")])
    expect(missing.stderr).toContain("cannot read tenants file")
    const half = await serveFails(["--tls-cert", join(dir, "nope.pem"), "--data-dir", join(dir, "d6")])
    expect(half.stderr).toContain("--tls-cert and --tls-key go together")
  }, 120_000)
})

describe("/metrics with per-model series", () => {
  it("needs the admin token or the metrics token once --model-metrics is on", async () => {
    const sub = join(dir, "metrics")
    await mkdir(sub)
    const file = writeTenantsFile(sub, "m-admin", [{ id: "acme", token: "m-acme" }])
    const s = await startServer(["--tenants", file, "--model-metrics", "--metrics-token", sha256("scrape-me"), "--data-dir", join(sub, "data"), "--log-level", "warn"])
    try {
      const none = await call(s.url, "/metrics", undefined)
      expect(none.status).toBe(401)
      expect(none.headers.get("www-authenticate")).toBe("Bearer")
      expect((await call(s.url, "/metrics", "m-acme")).status).toBe(401)
      expect((await call(s.url, "/metrics", "scrape-me")).status).toBe(200)
      expect((await call(s.url, "/metrics", "m-admin")).status).toBe(200)
      // The metrics token reads metrics and nothing else.
      expect((await call(s.url, "/v1/models", "scrape-me")).status).toBe(401)
      expect((await call(s.url, "/v2/health/ready", undefined)).status).toBe(200)
    } finally {
      await s.stop()
    }
  }, 120_000)
})
