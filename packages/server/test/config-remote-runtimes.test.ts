import { describe, expect, it } from "vitest"
import { ConfigError, fromEnv, resolveConfig } from "../src/config/config.js"

/** `remoteRuntimes` (--remote-runtime, MESHKIT_REMOTE_RUNTIMES, the config file): defaults, and errors naming the field. */
const errorOf = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    return e instanceof ConfigError ? e.message : ""
  }
  throw new Error("expected a ConfigError")
}

const spec = { name: "mlserver", address: "127.0.0.1:8085", modelTypes: ["sklearn", "xgboost-remote"] }

describe("remote runtimes configuration", () => {
  it("has none by default, and fills a runtime's defaults", () => {
    expect(resolveConfig({}).remoteRuntimes).toEqual([])
    const c = resolveConfig({ flags: { remoteRuntimes: [spec, { ...spec, name: "b", address: "unix:/tmp/b.sock", modelTypes: ["b"], startupTimeout: "5s" }] } })
    expect(c.remoteRuntimes).toEqual([
      { ...spec, startupTimeout: 60_000, healthInterval: 1000 },
      { name: "b", address: "unix:/tmp/b.sock", modelTypes: ["b"], startupTimeout: 5000, healthInterval: 1000 }
    ])
  })

  it("reads a file list and MESHKIT_REMOTE_RUNTIMES (one object or a list)", () => {
    const file = { path: "c.yaml", values: { remoteRuntimes: [spec] } }
    expect(resolveConfig({ file }).remoteRuntimes[0]!.name).toBe("mlserver")
    expect(resolveConfig({ env: fromEnv({ MESHKIT_REMOTE_RUNTIMES: JSON.stringify(spec) }) }).remoteRuntimes).toHaveLength(1)
    expect(resolveConfig({ env: fromEnv({ MESHKIT_REMOTE_RUNTIMES: JSON.stringify([spec, { ...spec, name: "x", modelTypes: ["x"] }]) }) }).remoteRuntimes).toHaveLength(2)
  })

  it("names the bad field and where it came from", () => {
    expect(errorOf(() => resolveConfig({ flags: { remoteRuntimes: [{ ...spec, address: "nope" }] } }))).toMatch(
      /remoteRuntimes\.0\.address \(from --remote-runtime\): expected host:port or unix:PATH, got "nope"/
    )
    expect(errorOf(() => resolveConfig({ flags: { remoteRuntimes: [{ ...spec, modelTypes: [] }] } }))).toMatch(/remoteRuntimes\.0\.modelTypes \(from --remote-runtime\): list at least one model type/)
    expect(errorOf(() => resolveConfig({ file: { path: "c.yaml", values: { remoteRuntimes: [{ ...spec, startupTimeout: "soon" }] } } }))).toMatch(
      /remoteRuntimes\.0\.startupTimeout \(from "remoteRuntimes" in c\.yaml\)/
    )
    expect(errorOf(() => resolveConfig({ flags: { remoteRuntimes: [{ ...spec, extra: 1 }] } }))).toMatch(/remoteRuntimes\.0\.extra .*unknown setting/)
    expect(errorOf(() => resolveConfig({ env: fromEnv({ MESHKIT_REMOTE_RUNTIMES: "{not json" }) }))).toMatch(/remoteRuntimes \(from MESHKIT_REMOTE_RUNTIMES\)/)
  })

  it("refuses two runtimes with one name or one model type", () => {
    expect(errorOf(() => resolveConfig({ flags: { remoteRuntimes: [spec, { ...spec, modelTypes: ["other"] }] } }))).toMatch(/two remote runtimes are named "mlserver"/)
    expect(errorOf(() => resolveConfig({ flags: { remoteRuntimes: [spec, { ...spec, name: "b" }] } }))).toMatch(
      /model type "sklearn" is claimed by remote runtimes "mlserver" and "b"/
    )
  })
})
