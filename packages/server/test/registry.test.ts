import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { Conflict, ModelNotFound, ModelRegistry, type ModelRecord } from "../src/index.js"

/** The registry: API models and vmodels persisted before a call returns; directory models never persisted. */

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshkit-registry-"))
})
afterEach(() => rm(dir, { recursive: true, force: true }))

const record = (id: string, source: ModelRecord["source"] = "api"): ModelRecord => ({
  id,
  format: "onnx",
  uri: `/models/${id}.onnx`,
  path: `/models/${id}.onnx`,
  source,
  tenant: "default",
  labels: {},
  pinned: false,
  minCopies: 0,
  maxCopies: 1,
  registeredAt: 1
})

describe("registry", () => {
  it("persists API models and vmodels, not directory models, and reads them back", async () => {
    const path = join(dir, "registry.json")
    const r = await ModelRegistry.open(path)
    await r.add(record("a"))
    r.addFromDirectory(record("d", "dir"))
    await r.setVModel({ id: "v", active: "a", target: "a" })
    const stored = JSON.parse(await readFile(path, "utf8"))
    expect(stored.models.map((m: ModelRecord) => m.id)).toEqual(["a"])
    expect(stored.vmodels).toEqual([{ id: "v", active: "a", target: "a" }])

    const again = await ModelRegistry.open(path)
    expect(again.get("a")).toEqual(record("a"))
    expect(again.get("d")).toBeUndefined()
    expect(again.vmodel("v")?.active).toBe("a")
  })

  it("refuses clashes: a second registration, a vmodel named like a model, a directory model over an API one", async () => {
    const r = await ModelRegistry.open(join(dir, "registry.json"))
    await r.add(record("a"))
    await expect(r.add(record("a"))).rejects.toBeInstanceOf(Conflict)
    await expect(r.setVModel({ id: "a", active: "a", target: "a" })).rejects.toBeInstanceOf(Conflict)
    expect(() => r.addFromDirectory(record("a", "dir"))).toThrow(Conflict)
    await r.setVModel({ id: "v", active: "a", target: "a" })
    await expect(r.add(record("v"))).rejects.toThrow(/already a vmodel/)
  })

  it("will not remove a model a vmodel uses, and says which vmodel", async () => {
    const r = await ModelRegistry.open(join(dir, "registry.json"))
    await r.add(record("a"))
    await r.setVModel({ id: "v", active: "a", target: "a" })
    await expect(r.remove("a")).rejects.toThrow(/used by vmodel\(s\) v/)
    await r.removeVModel("v")
    await r.remove("a")
    expect(r.size).toBe(0)
    await expect(r.remove("a")).rejects.toBeInstanceOf(ModelNotFound)
    await expect(r.removeVModel("v")).rejects.toBeInstanceOf(ModelNotFound)
  })

  it("refuses to start from a file that is not a registry, and leaves it alone", async () => {
    const path = join(dir, "registry.json")
    await writeFile(path, JSON.stringify({ version: 7 }))
    await expect(ModelRegistry.open(path)).rejects.toThrow(/is not a meshkit registry/)
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ version: 7 })
  })
})
