// `meshkit plan` as a user runs it: a real process on a small scenario written here, then the
// `meshkit sim` command it printed, run as printed, finds the SLO met, and the same configuration
// with 60 % of the memory per instance finds it missed.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { meshkit } from "./support/meshkit-cli.js"

const SLO_MS = 250
const SCENARIO = `name: plan-e2e
seed: 3
trace:
  generate: { seed: 11, models: 80, tenants: 4, zipf: 1.0, rate: 40, durationMs: 180000, sizeMedian: 64MiB, sizeSigma: 0.5, execMedianMs: 5, execSigma: 0.3 }
cluster:
  instances: 2
  memory: 1GiB
  load: { fixedMs: 150, bandwidth: 1GiB }
  modelConcurrency: 4
  maxCopies: 2
policies:
  eviction: [lru, gdsf]
slo:
  latencyMs: 100
`

interface Entry {
  instances: number
  memoryPerInstanceBytes: number
  policies: { eviction: unknown[]; placement: unknown; routing: unknown; scaling: unknown }
  p99Us: number
  coldStarts: number
  totalMemoryBytes: number
}

describe("meshkit plan (real process)", () => {
  let dir: string
  let file: string
  let out: string
  let plan: { best: Entry; frontier: Entry[]; simulations: number; command: string[]; space: { candidates: number; gridSizes: number; resolution: number }; checks: Array<{ factor: number; asExpected: boolean }> }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "meshkit-plan-"))
    file = join(dir, "small.yaml")
    out = join(dir, "report")
    await writeFile(file, SCENARIO)
    const r = await meshkit(["plan", file, "--slo-p99", `${SLO_MS}ms`, "--instances", "1..3", "--json", "--out", out])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    plan = JSON.parse(r.stdout)
  }, 300_000)
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it("prints the cheapest configuration that meets the SLO in the issue's JSON shape, and how many simulations it took", () => {
    expect(Object.keys(plan.best).slice(0, 6)).toEqual(["instances", "memoryPerInstanceBytes", "policies", "p99Us", "coldStarts", "totalMemoryBytes"])
    expect(plan.best.p99Us).toBeLessThanOrEqual(SLO_MS * 1000)
    expect(plan.best.totalMemoryBytes).toBe(plan.best.instances * plan.best.memoryPerInstanceBytes)
    expect(plan.best.policies.eviction).toHaveLength(1)
    expect(["lru", "gdsf"]).toContain(plan.best.policies.eviction[0])
    expect(plan.best.policies).toMatchObject({ placement: "modelmesh", routing: "least-in-flight", scaling: "modelmesh" })
    // not a grid: 6 candidates × the memory grid would be hundreds of runs
    expect(plan.space.candidates).toBe(6)
    expect(plan.simulations).toBeGreaterThan(plan.space.candidates)
    expect(plan.simulations).toBeLessThan((plan.space.candidates * plan.space.gridSizes) / 4)
    // nothing on the frontier is both cheaper and meets the SLO
    expect(plan.frontier.length).toBeGreaterThan(1)
    for (const e of plan.frontier) if (e.totalMemoryBytes < plan.best.totalMemoryBytes) expect(e.p99Us).toBeGreaterThan(SLO_MS * 1000)
    expect(plan.checks.map((c) => [c.factor, c.asExpected])).toEqual([[0.6, true], [1.5, true]])
  })

  it("its reproducing meshkit sim command meets the SLO, and with 60 % of the memory the same configuration misses it", async () => {
    expect(plan.command.slice(0, 3)).toEqual(["meshkit", "sim", file])
    const args = [...plan.command.slice(1), "--json", "--no-report"]
    const met = await meshkit(args)
    expect(met.code).toBe(0)
    const [result] = JSON.parse(met.stdout) as Array<{ policy: string; latencyUs: { p99: number }; coldStarts: number }>
    expect(result!.policy).toBe(plan.best.policies.eviction[0])
    expect(result!.latencyUs.p99).toBeLessThanOrEqual(SLO_MS * 1000)
    expect(result!.latencyUs.p99).toBe(plan.best.p99Us)
    expect(result!.coldStarts).toBe(plan.best.coldStarts)

    const less = Math.floor((plan.best.memoryPerInstanceBytes * 0.6) / 2 ** 20)
    const missed = await meshkit([...args, "--set", `cluster.memory=${less}MiB`])
    expect(missed.code).toBe(0)
    const [small] = JSON.parse(missed.stdout) as Array<{ latencyUs: { p99: number } }>
    expect(small!.latencyUs.p99).toBeGreaterThan(SLO_MS * 1000)
  }, 120_000)

  it("writes plan.html (with the frontier charts), plan.md and plan.json", async () => {
    const html = await readFile(join(out, "plan.html"), "utf8")
    expect(html).toContain("Capacity plan: plan-e2e")
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(2)
    expect(html).toContain("p99 latency against cost")
    const md = await readFile(join(out, "plan.md"), "utf8")
    expect(md).toMatch(/## Recommendation/)
    expect(md).toContain("meshkit sim")
    const json = JSON.parse(await readFile(join(out, "plan.json"), "utf8"))
    expect(json.best).toEqual(plan.best)
    expect(json.evaluated.length).toBe(plan.simulations)
  })

  it("says clearly when nothing meets the SLO, shows the closest configuration and exits 1", async () => {
    const r = await meshkit(["plan", file, "--slo-p99", "1ms", "--instances", "1..2", "--policies", "eviction=lru", "--no-report"])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/No configuration in the search space meets p99 ≤ 1 ms\. Closest: \d+ × /)
    expect(r.stdout).toMatch(/closest: meshkit sim /)
    const j = await meshkit(["plan", file, "--slo-p99", "1ms", "--instances", "1", "--policies", "eviction=lru", "--no-report", "--json"])
    expect(j.code).toBe(1)
    const body = JSON.parse(j.stdout)
    expect(body.best).toBeNull()
    expect(body.closest.p99Us).toBeGreaterThan(1000)
    expect(body.simulations).toBe(1)
  }, 120_000)

  it.each([
    [[], /--slo-p99 is required/],
    [["--slo-p99", "fast"], /--slo-p99 expects a duration above 0 like 250ms/],
    [["--slo-p99", "250ms", "--instances", "0..2"], /--instances expects whole numbers ≥ 1/],
    [["--slo-p99", "250ms", "--memory", "8GiB..1GiB"], /--memory 8GiB\.\.1GiB: the minimum is above the maximum/],
    [["--slo-p99", "250ms", "--memory", "lots..more"], /--memory expects sizes like 1GiB\.\.64GiB/],
    [["--slo-p99", "250ms", "--max-cold-start-rate", "2"], /--max-cold-start-rate expects a fraction from 0 to 1/],
    [["--slo-p99", "250ms", "--policies", "colour=red"], /--policies expects FIELD=NAME,NAME with FIELD one of eviction, placement, routing, scaling/],
    [["--slo-p99", "250ms", "--policies", "eviction=nope"], /--policies eviction: .*nope/],
    [["--slo-p99", "250ms", "--policies", "eviction=belady"], /belady is an offline bound/],
    [["--slo-p99", "250ms", "--resolution", "70%"], /--resolution expects a step above 0 and below 66%/],
    [["--slo-p99", "250ms", "--set", "cluster.memory=lots"], /cluster\.memory/]
  ])("rejects bad input %j with a clear error and exit 2", async (flags, message) => {
    const r = await meshkit(["plan", file, ...flags, "--no-report"])
    expect(r.stderr).toMatch(message)
    expect(r.stderr).toMatch(/see meshkit plan --help/)
    expect(r.code).toBe(2)
  }, 60_000)
})
