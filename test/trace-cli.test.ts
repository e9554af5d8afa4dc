// `meshkit trace convert` and `meshkit trace stats`, and `meshkit sim --trace X.oracleGeneral.zst`,
// as a user runs them: real processes, real files.
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { generatedTrace, writeCsvTrace } from "@meshkit/sim"
import { meshkit } from "./support/meshkit-cli.js"
let dir: string
let csv: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "meshkit-trace-cli-"))
  csv = join(dir, "g.csv")
  // whole-second times and integer ids: the oracleGeneral round trip is then exact
  const g = generatedTrace({ models: 200, requests: 20_000, rate: 5, sizeMedian: "64MiB", sizeSigma: 0.5, seed: 9 })
  const rows = (await readFile(await writeCsvTrace(g, join(dir, "raw.csv")).then(() => join(dir, "raw.csv")), "utf8")).trim().split("\n").slice(1)
  const ids = new Map<string, number>()
  const text = rows.map((r) => {
    const [t, m, size] = r.split(",")
    if (!ids.has(m!)) ids.set(m!, ids.size)
    return `${Math.floor(Number(t) / 1000) * 1000},${ids.get(m!)},${size},default,`
  })
  await import("node:fs/promises").then((fs) => fs.writeFile(csv, `time_ms,model,size_bytes,tenant,exec_ms\n${text.join("\n")}\n`))
}, 60_000)
afterAll(() => rm(dir, { recursive: true, force: true }))

describe("meshkit trace", () => {
  it("converts CSV to oracleGeneral.zst and back without changing a request", async () => {
    const zst = join(dir, "g.oracleGeneral.zst")
    const back = join(dir, "back.csv")
    const a = await meshkit(["trace", "convert", csv, zst])
    expect(a.code, a.stderr).toBe(0)
    expect(a.stderr).toMatch(/wrote .*g\.oracleGeneral\.zst: 20,000 requests, \d+ objects/)
    const b = await meshkit(["trace", "convert", zst, back])
    expect(b.code, b.stderr).toBe(0)
    const lines = (p: string) => readFile(p, "utf8").then((t) => t.trim().split("\n").slice(1).map((l) => l.split(",").slice(0, 3).join(",")))
    expect(await lines(back)).toEqual(await lines(csv))
  })

  it("prints statistics as JSON, and an HTML report with both charts", async () => {
    const html = join(dir, "stats.html")
    const r = await meshkit(["trace", "stats", csv, "--json", "--html", html])
    expect(r.code, r.stderr).toBe(0)
    const s = JSON.parse(r.stdout)
    expect(s.requests).toBe(20_000)
    expect(s.objects).toBeGreaterThan(10)
    expect(s.oneHitWonderRatio).toBeGreaterThanOrEqual(0)
    const page = await readFile(html, "utf8")
    expect(page).toContain("rank-frequency")
    expect(page).toContain("reuse-cdf")
  })

  it("replays an oracleGeneral file in the simulator, detected by its name", async () => {
    const zst = join(dir, "sim.oracleGeneral.zst")
    expect((await meshkit(["trace", "convert", csv, zst])).code).toBe(0)
    const r = await meshkit(["sim", "--trace", zst, "--capacity", "2GiB", "--ideal", "--policy", "lru,fifo", "--json"])
    expect(r.code, r.stderr).toBe(0)
    const results = JSON.parse(r.stdout) as Array<{ policy: string; requests: number }>
    expect(results.map((x) => x.policy)).toEqual(["lru", "fifo"])
    for (const x of results) expect(x.requests).toBe(20_000)
  })

  it("answers a usage mistake with exit 2 and a short message", async () => {
    const r = await meshkit(["trace", "convert", csv, join(dir, "out.parquet")])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/cannot tell the output format/)
    const s = await meshkit(["trace", "frobnicate"])
    expect(s.code).toBe(2)
  })
})
