// The install runs nothing that could download beyond the npm registry, and says nothing about it:
// .npmrc's keys are ones npm knows (no "Unknown project config" warning on every npm/npx call), and
// every dependency with an install script is also refused by package.json "allowScripts".
import { execFileSync, spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")

describe("the npm install configuration", () => {
  it("npm reads .npmrc without a warning, and install scripts are off", () => {
    const r = spawnSync("npm", ["config", "get", "ignore-scripts"], { cwd: root, encoding: "utf8" })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout.trim()).toBe("true")
    expect(r.stderr).not.toMatch(/warn/i)
  })

  it("every locked package with an install script is refused in allowScripts too (npm 11 honours both)", () => {
    const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { hasInstallScript?: boolean }> }
    const allow = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { allowScripts: Record<string, boolean> }).allowScripts
    const withScripts = Object.entries(lock.packages)
      .filter(([, v]) => v.hasInstallScript)
      .map(([k]) => k.replace(/^.*node_modules\//, ""))
    expect(withScripts).toContain("onnxruntime-node")
    for (const name of withScripts) expect(allow[name], name).toBe(false)
  })

  it("the onnxruntime CPU library the server runs on ships in the npm package itself", () => {
    const dir = join(root, "node_modules/onnxruntime-node/bin/napi-v6/linux/x64")
    const files = execFileSync("ls", [dir], { encoding: "utf8" }).split("\n")
    expect(files).toContain("onnxruntime_binding.node")
    expect(files.some((f) => f.startsWith("libonnxruntime.so"))).toBe(true)
  })
})
