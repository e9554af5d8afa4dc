// The simulator's report as a reader sees it, on a laptop (1280 px) and on a phone (375 px): the
// real report of a small `meshkit sim` run opened in headless Chromium (Debian's chromium, installed
// by the harness when missing). The answer comes first and names the winner and the ties, every
// chart has drawn series and labelled axes, nothing is cut off, tables scroll inside their box with
// the first column pinned. Screenshots (PNG) are saved in the test's temp dir; MESHKIT_KEEP_REPORT=1
// keeps that dir to look at them.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { measureCharts, measureLayout, withHeadlessPage } from "@meshkit/report/browser"
import { CHROMIUM_INSTALL_TIMEOUT_MS, ensureChromium } from "./support/chromium.js"
import { meshkit } from "./support/meshkit-cli.js"

// A keep-alive far longer than the trace: ttl can never unload an idle model here, so it must tie with lru.
const NEVER = 1_000_000_000
const TTL = `ttl(keepAliveMs=${NEVER})`
const SCENARIO = `
name: layout-check
description: a small spiky trace with four tenants for the report layout test
trace:
  generate: { seed: 5, models: 90, tenants: 4, rate: 30, durationMs: 600000, sizeMedian: 64MiB, execMedianMs: 5 }
cluster: { instances: 2, memory: 1GiB, load: { fixedMs: 50, bandwidth: 1GiB } }
policies: { eviction: [lru, { name: ttl, options: { keepAliveMs: ${NEVER} } }, fifo, sieve] }
slo: { latencyMs: 50 }
sweep: { memory: [192MiB, 256MiB, 384MiB, 512MiB, 768MiB, 1GiB, 1536MiB, 2GiB] }
`

interface Result {
  readonly policy: string
  readonly coldStartSeconds: number
}

describe("the sim report at 1280 px and 375 px", () => {
  let dir: string
  let html: string
  let results: Result[]
  let sizes: number

  beforeAll(async () => {
    ensureChromium()
    dir = await mkdtemp(join(tmpdir(), "meshkit-sim-layout-"))
    const file = join(dir, "layout-check.yaml")
    await writeFile(file, SCENARIO)
    const r = await meshkit(["sim", file, "--out", join(dir, "out"), "--workers", "0"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    html = join(dir, "out", "report.html")
    const json = JSON.parse(await readFile(join(dir, "out", "report.json"), "utf8"))
    results = json.results
    sizes = new Set(json.sweep.map((p: { memoryBytes: number }) => p.memoryBytes)).size
  }, CHROMIUM_INSTALL_TIMEOUT_MS)
  afterAll(async () => {
    if (dir && process.env.MESHKIT_KEEP_REPORT !== "1") await rm(dir, { recursive: true, force: true })
  })

  it("the answer block names the winner, computed from report.json, and the tie of ttl with lru", async () => {
    expect(sizes).toBeGreaterThanOrEqual(8)
    const winner = [...results].sort((a, b) => a.coldStartSeconds - b.coldStartSeconds)[0]!
    const lead = await withHeadlessPage(html, async ({ page }) => (await measureLayout(page)).leadText)
    expect(lead).toContain("Answer")
    // A tie for first place is named by the first of the tied policies, in run order.
    const first = results.find((r) => r.coldStartSeconds === winner.coldStartSeconds)!
    expect(lead).toContain(`${first.policy} wins at 2 × 1 GiB`)
    expect(lead).toContain(`${TTL} gives exactly lru's results here: its keep-alive never fires on this trace`)
  })

  for (const width of [1280, 375]) {
    it(`at ${width} px: every chart drawn with labelled axes, nothing cut off, tables scroll in their box`, async () => {
      const shot = join(dir, `report-${width}.png`)
      const { charts, layout } = await withHeadlessPage(
        html,
        async ({ page, errors, externalRequests }) => {
          expect(errors).toEqual([])
          expect(externalRequests).toEqual([])
          await page.screenshot({ path: shot, fullPage: true })
          return { charts: await measureCharts(page), layout: await measureLayout(page) }
        },
        { width, height: 900 }
      )
      expect((await stat(shot)).size).toBeGreaterThan(10_000)

      // The charts the report promises, each laid out with non-empty series of real points.
      const ids = charts.map((c) => c.id)
      for (const id of ["latency-percentiles", "latency-cdf", "miss-ratio-vs-memory", "cold-start-seconds-vs-memory", "p99-vs-memory", "memory-over-time"]) {
        expect(ids).toContain(id)
      }
      expect(ids.filter((id) => id.startsWith("tenant-")).length).toBeGreaterThanOrEqual(4)
      for (const c of charts) {
        expect(c.width, c.id).toBeGreaterThan(width === 375 ? 300 : 400)
        expect(c.width, c.id).toBeLessThanOrEqual(width)
        expect(c.series.length, c.id).toBeGreaterThan(0)
        for (const s of c.series) {
          expect(s.d, `${c.id}/${s.name}`).toMatch(/^M[\d.]+ [\d.]+/)
          expect(s.length, `${c.id}/${s.name}`).toBeGreaterThan(0)
        }
      }
      // Every chart has axis titles and tick labels; the tail and the sweep read as promised.
      for (const a of layout.axes) {
        expect(a.axisTitles.length, a.id).toBe(2)
        expect(a.tickLabels.filter((t) => t.trim() !== "").length, a.id).toBeGreaterThanOrEqual(3)
        expect(a.right, a.id).toBeLessThanOrEqual(layout.innerWidth)
      }
      const ticks = (id: string) => layout.axes.find((a) => a.id === id)!.tickLabels
      expect(ticks("latency-percentiles")).toEqual(expect.arrayContaining(["p50", "p90", "p99", "p99.9", "p99.99"]))
      expect(ticks("latency-percentiles").some((t) => / (ms|s|µs)$/.test(t))).toBe(true)
      const mrc = ticks("miss-ratio-vs-memory")
      // The 8 swept sizes labelled on a laptop; on a phone the labels that would touch are left out.
      expect(mrc.filter((t) => /(MiB|GiB)$/.test(t)).length).toBeGreaterThanOrEqual(width === 375 ? 4 : 8)
      expect(charts.find((c) => c.id === "miss-ratio-vs-memory")!.series.length).toBe(4)

      // Nothing cut off: the page never scrolls sideways; wide tables scroll inside their own box.
      expect(layout.scrollWidth).toBeLessThanOrEqual(layout.innerWidth)
      expect(layout.tables.length).toBeGreaterThanOrEqual(4)
      for (const t of layout.tables) {
        expect(t.boxRight).toBeLessThanOrEqual(layout.innerWidth)
        expect(["auto", "scroll"]).toContain(t.boxOverflowX)
        expect(t.firstColumnPosition).toBe("sticky")
      }
      if (width === 375) expect(layout.tables.some((t) => t.tableWidth > t.boxWidth)).toBe(true)
    })
  }
})
