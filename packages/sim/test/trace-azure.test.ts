import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { TraceError, azureTrace, materialize } from "../src/trace/index.js"

const SAMPLE = fileURLToPath(new URL("../../../../shared/traces/azure-functions-2019-sample/", import.meta.url))

/** The raw invocation table, read the plain way, to check the expansion against. */
const raw = (() => {
  const [header, ...rows] = readFileSync(join(SAMPLE, "1000_inv.csv"), "utf8").trim().split("\n")
  const names = header!.split(",")
  const first = names.indexOf("minute_1")
  return rows.map((line) => {
    const f = line.split(",")
    return { fn: f[names.indexOf("HashFunction")]!, owner: f[names.indexOf("HashOwner")]!, app: f[names.indexOf("HashApp")]!, counts: f.slice(first).map(Number) }
  })
})()

const csvColumn = (file: string, key: string, keyValue: string, column: string): string => {
  const [header, ...rows] = readFileSync(join(SAMPLE, file), "utf8").trim().split("\n")
  const names = header!.split(",")
  const row = rows.map((r) => r.split(",")).find((f) => f[names.indexOf(key)] === keyValue)!
  return row[names.indexOf(column)]!
}

/** index of the first difference (NaN equals NaN), -1 when equal; toEqual is slow on big typed arrays */
const firstDifference = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Math.min(a.length, b.length)
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i
  return -1
}

describe("Azure Functions 2019 trace expansion (research.md)", () => {
  it("gives exactly 1,422,752 requests over 538 models in the first 120 minutes, in time order", async () => {
    const trace = azureTrace({ dir: SAMPLE, minutes: 120 })
    const { timeMs, model } = await materialize(trace)
    expect(timeMs.length).toBe(1_422_752)
    expect(trace.models.ids.length).toBe(538)
    expect(new Set(model).size).toBe(538)
    let sorted = true
    for (let i = 1; i < timeMs.length; i++) if (timeMs[i]! < timeMs[i - 1]!) sorted = false
    expect(sorted).toBe(true)
    expect(timeMs[timeMs.length - 1]).toBeLessThan(120 * 60_000)
    const gib = trace.models.sizes.reduce((a, b) => a + b, 0) / 1024 ** 3
    expect(gib).toBeGreaterThan(680) // research.md: ≈ 690 GB of distinct models
    expect(gib).toBeLessThan(700)
  })

  it("starts with the rows invoked in minute 1, in file order, sized by their app's memory", async () => {
    const trace = azureTrace({ dir: SAMPLE, minutes: 2 })
    const { timeMs, model, execMs } = await materialize(trace)
    const invokedAtZero = raw.filter((r) => r.counts[0]! > 0)
    // every function with calls in minute 1 has one request at exactly 0 ms (i = 0)
    for (let j = 0; j < invokedAtZero.length; j++) {
      expect(timeMs[j]).toBe(0)
      expect(trace.models.ids[model[j]!]).toBe(invokedAtZero[j]!.fn.slice(0, 16))
    }
    expect(timeMs[invokedAtZero.length]).toBeGreaterThan(0)

    // the very first request, checked field by field against the three raw files
    const first = invokedAtZero[0]!
    expect(trace.models.ids[model[0]!]).toBe("1b46c1a27eed72fe")
    expect(trace.models.tenants[model[0]!]).toBe(first.owner.slice(0, 16))
    const mb = Number(csvColumn("1000_mem.csv", "HashApp", first.app, "AverageAllocatedMb"))
    expect(trace.models.sizes[model[0]!]).toBe(mb * 1_048_576)
    expect(execMs[0]).toBe(Number(csvColumn("1000_run.csv", "HashFunction", first.fn, "Average")))

    // its c = 4 calls in minute 1 land at floor(i * 60000 / 4); its 2 calls in minute 2 at 60000 + 30000 i
    expect(first.counts.slice(0, 2)).toEqual([4, 2])
    const times = Array.from(timeMs).filter((_, j) => model[j] === model[0])
    expect(times).toEqual([0, 15_000, 30_000, 45_000, 60_000, 90_000])
  })

  it("orders requests exactly like a stable sort of the whole expanded list", async () => {
    const minutes = 15
    const expected: { t: number; id: string }[] = []
    raw.forEach((r) => {
      for (let m = 0; m < minutes; m++) {
        const c = r.counts[m]!
        for (let i = 0; i < c; i++) expected.push({ t: m * 60_000 + Math.floor((i * 60_000) / c), id: r.fn.slice(0, 16) })
      }
    })
    expected.sort((a, b) => a.t - b.t) // Array#sort is stable
    const trace = azureTrace({ dir: SAMPLE, minutes })
    const { timeMs, model } = await materialize(trace)
    expect(timeMs.length).toBe(expected.length)
    let mismatch = -1
    for (let j = 0; j < expected.length && mismatch < 0; j++) {
      if (timeMs[j] !== expected[j]!.t || trace.models.ids[model[j]!] !== expected[j]!.id) mismatch = j
    }
    expect(mismatch).toBe(-1)
  })

  it("replays identically, with the model table unchanged by a second pass", async () => {
    const trace = azureTrace({ dir: SAMPLE, minutes: 30, exec: "sampled", seed: 4 })
    const a = await materialize(trace)
    const ids = [...trace.models.ids]
    const b = await materialize(trace)
    expect(trace.models.ids).toEqual(ids)
    expect(a.timeMs.length).toBeGreaterThan(100_000)
    expect(firstDifference(b.timeMs, a.timeMs)).toBe(-1)
    expect(firstDifference(b.model, a.model)).toBe(-1)
    expect(firstDifference(b.execMs, a.execMs)).toBe(-1)
  })

  it("samples execution times within each function's percentile range, per seed", async () => {
    const sampled = await materialize(azureTrace({ dir: SAMPLE, minutes: 10, exec: "sampled", seed: 1 }))
    const other = await materialize(azureTrace({ dir: SAMPLE, minutes: 10, exec: "sampled", seed: 2 }))
    const none = await materialize(azureTrace({ dir: SAMPLE, minutes: 10, exec: "none" }))
    expect(firstDifference(sampled.execMs, other.execMs)).toBeGreaterThanOrEqual(0)
    expect(Array.from(none.execMs).every(Number.isNaN)).toBe(true)
    // request 0 is function 1b46c1a2…: percentiles 0..100 are 149 … 180 ms
    const first = Array.from(sampled.execMs).filter((_, j) => sampled.model[j] === sampled.model[0])
    expect(new Set(first).size).toBeGreaterThan(1)
    for (const e of first) {
      expect(e).toBeGreaterThanOrEqual(149)
      expect(e).toBeLessThanOrEqual(180)
    }
  })

  describe("bad input", () => {
    const dir = mkdtempSync(join(tmpdir(), "meshkit-azure-"))
    afterAll(() => rmSync(dir, { recursive: true, force: true }))
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text)
      return join(dir, name)
    }
    const mem = write("t_mem.csv", "HashApp,HashOwner,AverageAllocatedMb\napp1,o1,100\napp2,o1,300\napp3,o1,200\n")

    it("names file, line and column of a count that is not a non-negative integer", async () => {
      const inv = write("bad_inv.csv", "HashFunction,HashApp,HashOwner,minute_1,minute_2\nf1,app1,o1,1,2\nf2,app2,o1,3,x\n")
      const err = await materialize(azureTrace({ invocations: inv, memory: mem })).catch((e) => e)
      expect(err).toBeInstanceOf(TraceError)
      expect(err.message).toBe(`${inv}:3: column 5 (minute_2): "x" is not a number`)
      expect(err.line).toBe(3)
      expect(err.column).toBe(5)
      const neg = write("neg_inv.csv", "HashFunction,HashApp,HashOwner,minute_1\nf1,app1,o1,-1\n")
      const e2 = await materialize(azureTrace({ invocations: neg, memory: mem })).catch((e) => e)
      expect(e2.message).toMatch(/neg_inv\.csv:2: column 4 \(minute_1\): invocation count must be a non-negative integer/)
    })

    it("gives functions of apps without memory the median app size, or skips them", async () => {
      const inv = write("m_inv.csv", "HashFunction,HashApp,HashOwner,minute_1\nf1,app1,o1,2\nf9,nomem,o2,3\n")
      const median = azureTrace({ invocations: inv, memory: mem })
      expect((await materialize(median)).timeMs.length).toBe(5)
      expect(median.models.sizes).toEqual([100 * 1_048_576, 200 * 1_048_576])
      expect(median.models.tenants).toEqual(["o1", "o2"])
      const skip = azureTrace({ invocations: inv, memory: mem, missingMemory: "skip" })
      expect((await materialize(skip)).timeMs.length).toBe(2)
      expect(skip.models.ids).toEqual(["f1"])
    })

    it("rejects a missing column, too many minutes and unusable options with a clear error", async () => {
      const inv = write("h_inv.csv", "HashFunction,HashOwner,minute_1\nf1,o1,1\n")
      await expect(materialize(azureTrace({ invocations: inv, memory: mem }))).rejects.toThrow(
        /h_inv\.csv:1: column HashApp: missing required column "HashApp"/
      )
      await expect(materialize(azureTrace({ dir: SAMPLE, minutes: 1441 }))).rejects.toThrow(/minutes = 1441 but .* has 1440 minute columns/)
      expect(() => azureTrace({ minutes: 10 })).toThrow(/give dir, or both invocations and memory file paths/)
      expect(() => azureTrace({ dir: SAMPLE, exec: "median" as never })).toThrow(/exec: Expected "average" \| "sampled" \| "none", actual "median"/)
      expect(() => azureTrace({ dir: join(dir, "nope") })).toThrow(TraceError)
      const two = mkdtempSync(join(dir, "two-"))
      writeFileSync(join(two, "a_inv.csv"), "")
      writeFileSync(join(two, "b_inv.csv"), "")
      expect(() => azureTrace({ dir: two })).toThrow(/several invocations files \(a_inv\.csv, b_inv\.csv\)/)
    })
  })
})
