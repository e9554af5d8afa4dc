import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BadRequest } from "../src/errors.js"
import { checkUrl, confineFile, isPrivateAddress, makeSourceRules, SourceRefused, type SourceRules } from "../src/registry/source-rules.js"
import { publicMessage } from "../src/transport/public-message.js"

/** The model-source rules on their own: addresses, roots, symlinks, host lists. */
let dir: string
let rules: SourceRules

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshkit-rules-"))
  await mkdir(join(dir, "root", "sub"), { recursive: true })
  await writeFile(join(dir, "root", "sub", "a.onnx"), "x")
  await writeFile(join(dir, "out.onnx"), "x")
  await symlink(join(dir, "out.onnx"), join(dir, "root", "out-link.onnx"))
  // a root given through a symlink matches as written and as its real path
  await symlink(join(dir, "root"), join(dir, "root-alias"))
  rules = await makeSourceRules({ modelRoots: [join(dir, "root-alias")], allowUrlHosts: ["example.com", "127.0.0.1:9000", "[::1]:9000"], allowPrivateUrls: false, maxDownloadSize: 10, downloadTimeout: 1000 })
})
afterAll(() => rm(dir, { recursive: true, force: true }))

const refusal = async (p: Promise<unknown>) => {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error("expected a refusal")
}

describe("private addresses", () => {
  it.each(["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "::", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "not-an-ip"])("%s is private", (a) => {
    expect(isPrivateAddress(a)).toBe(true)
  })
  it.each(["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])("%s is public", (a) => {
    expect(isPrivateAddress(a)).toBe(false)
  })
})

describe("file sources", () => {
  it("resolves files under a root, by real path or as written", async () => {
    expect(await confineFile(join(dir, "root-alias", "sub", "a.onnx"), rules)).toBe(join(dir, "root", "sub", "a.onnx"))
    expect(await confineFile(`file://${join(dir, "root", "sub", "a.onnx")}`, rules)).toBe(join(dir, "root", "sub", "a.onnx"))
  })
  it("refuses outside, .., symlinks out, pseudo file systems; a missing file inside is a 400", async () => {
    expect(await refusal(confineFile(join(dir, "out.onnx"), rules))).toBeInstanceOf(SourceRefused)
    expect(await refusal(confineFile(join(dir, "root", "sub", "..", "..", "out.onnx"), rules))).toBeInstanceOf(SourceRefused)
    expect(await refusal(confineFile(join(dir, "root", "out-link.onnx"), rules))).toBeInstanceOf(SourceRefused)
    expect(await refusal(confineFile("/proc/self/environ", rules))).toBeInstanceOf(SourceRefused)
    expect(await refusal(confineFile(join(dir, "root", "nope.onnx"), rules))).toBeInstanceOf(BadRequest)
    const none = await makeSourceRules({ modelRoots: [], allowUrlHosts: [], allowPrivateUrls: false, maxDownloadSize: 1, downloadTimeout: 1 })
    expect(await refusal(confineFile(join(dir, "root", "sub", "a.onnx"), none))).toBeInstanceOf(SourceRefused)
  })
})

describe("URL sources", () => {
  it("matches hosts and ports from the list; private addresses need the flag", async () => {
    expect(await refusal(checkUrl("http://other.example/x", rules))).toBeInstanceOf(SourceRefused)
    expect(await refusal(checkUrl("http://127.0.0.1:9001/x", rules))).toBeInstanceOf(SourceRefused)
    const loop = await refusal(checkUrl("http://127.0.0.1:9000/x", rules))
    expect((loop as SourceRefused).message).toMatch(/--allow-private-urls/)
    expect(await refusal(checkUrl("http://[::1]:9000/x", rules))).toBeInstanceOf(SourceRefused)
    const open = { ...rules, allowPrivate: true }
    expect((await checkUrl("http://127.0.0.1:9000/x", open)).address).toBe("127.0.0.1")
    expect((await checkUrl("http://[::1]:9000/x", open)).family).toBe(6)
    expect(await refusal(checkUrl("ftp://example.com/x", open))).toBeInstanceOf(SourceRefused)
    expect(await refusal(checkUrl("http://u:p@example.com/x", open))).toBeInstanceOf(SourceRefused)
  })
})

describe("public messages", () => {
  it("cut long names and hide absolute paths, but keep URLs", () => {
    expect(publicMessage(`model "${"a".repeat(5000)}" is not registered`)).toBe(`model "${"a".repeat(200)}…" is not registered`)
    expect(publicMessage(`model "x": cannot read /srv/models/secret/x.onnx: ENOENT`)).toBe(`model "x": cannot read …/x.onnx: ENOENT`)
    expect(publicMessage("download http://h:1/a/b/c.onnx failed")).toBe("download http://h:1/a/b/c.onnx failed")
  })
})
