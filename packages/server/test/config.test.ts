import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ConfigError, fromEnv, grpcPortOf, readConfigFile, resolveConfig } from "../src/config/config.js"

/** Server configuration: defaults, file < environment < flags, and errors that name the field and its source. */
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshkit-config-"))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const errorOf = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    return (e as Error).message
  }
  throw new Error("expected a ConfigError")
}

describe("server configuration", () => {
  it("has defaults for everything", () => {
    const c = resolveConfig({})
    expect(c).toMatchObject({ host: "127.0.0.1", port: 8000, memory: 1024 ** 3, eviction: "lru", dataDir: ".meshkit", maxConcurrentLoads: 2, logLevel: "info" })
    expect(grpcPortOf(c)).toBe(8001)
    expect(grpcPortOf(resolveConfig({ flags: { port: "0" } }))).toBe(0)
    expect(grpcPortOf(resolveConfig({ flags: { grpcPort: "off" } }))).toBeNull()
  })

  it("reads YAML and JSON files, with env over file and flags over env", async () => {
    const yaml = join(dir, "c.yaml")
    await writeFile(yaml, "memory: 2GiB\nport: 9000\nloadTimeout: 5s\neviction:\n  name: ttl\n  options:\n    keepAliveMs: 1000\nruntime:\n  intraOpNumThreads: 1\n")
    const file = { path: yaml, values: await readConfigFile(yaml) }
    const env = fromEnv({ MESHKIT_PORT: "9100", MESHKIT_RUNTIME_SIZE_FACTOR: "1.5", MESHKIT_QUEUE_LIMIT: "7" })
    const c = resolveConfig({ file, env, flags: { queueLimit: "9" } })
    expect(c).toMatchObject({ memory: 2 * 1024 ** 3, port: 9100, loadTimeout: 5000, queueLimit: 9, eviction: { name: "ttl", options: { keepAliveMs: 1000 } } })
    expect(c.runtime).toEqual({ intraOpNumThreads: 1, sizeFactor: 1.5 })

    const json = join(dir, "c.json")
    await writeFile(json, JSON.stringify({ memory: 1024 }))
    expect(resolveConfig({ file: { path: json, values: await readConfigFile(json) } }).memory).toBe(1024)
  })

  it("names every bad field and where it came from", async () => {
    const yaml = join(dir, "bad.yaml")
    await writeFile(yaml, "queueLimit: -3\nbogus: 1\n")
    const message = errorOf(() =>
      resolveConfig({
        file: { path: yaml, values: { queueLimit: -3, bogus: 1 } },
        env: fromEnv({ MESHKIT_EVICTION: "nonsense" }),
        flags: { memory: "lots", port: "x", runtime: { sizeFactor: "0" } }
      })
    )
    expect(message).toMatch(/memory \(from --memory\): invalid byte size "lots"/)
    expect(message).toMatch(/port \(from --port\): expected an integer between 0 and 65535, got "x"/)
    expect(message).toMatch(/queueLimit \(from "queueLimit" in .*bad\.yaml\): expected an integer/)
    expect(message).toMatch(/bogus \(from "bogus" in .*bad\.yaml\): unknown setting/)
    expect(message).toMatch(/eviction \(from MESHKIT_EVICTION\): unknown eviction policy "nonsense"/)
    expect(message).toMatch(/runtime\.sizeFactor \(from --size-factor\): expected a number ≥ 0\.01/)
    expect(message).not.toMatch(/Expected undefined/)
  })

  it("refuses offline eviction policies and unreadable files", async () => {
    expect(errorOf(() => resolveConfig({ flags: { eviction: "belady" } }))).toMatch(/needs the future request sequence/)
    await expect(readConfigFile(join(dir, "missing.yaml"))).rejects.toThrow(/cannot read config file/)
    await writeFile(join(dir, "broken.json"), "{")
    await expect(readConfigFile(join(dir, "broken.json"))).rejects.toThrow(/not valid JSON/)
    await writeFile(join(dir, "list.yaml"), "- a\n- b\n")
    await expect(readConfigFile(join(dir, "list.yaml"))).rejects.toThrow(/mapping/)
  })
})
