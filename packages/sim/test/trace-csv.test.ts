import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import fc from "fast-check"
import { afterAll, describe, expect, it } from "vitest"
import { type Trace, csvTrace, generatedTrace, materialize, writeCsvTrace } from "../src/trace/index.js"
import { failure } from "./trace-failure.js"

const dir = mkdtempSync(join(tmpdir(), "meshkit-csv-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const file = (text: string | Buffer): string => {
  const path = join(dir, `t${files++}.csv`)
  writeFileSync(path, text)
  return path
}

/** Every request as [time, model id, tenant, size, exec], for comparing traces across tables. */
const requests = async (trace: Trace) => {
  const m = await materialize(trace)
  const { ids, tenants, sizes } = trace.models
  return Array.from(m.timeMs, (t, i) => {
    const k = m.model[i]!
    return [t, ids[k], tenants[k], sizes[k], m.execMs[i]] as const
  })
}

describe("CSV trace", () => {
  it("reads back exactly what the generator wrote (times, ids, tenants, sizes, exec times)", async () => {
    // ~150k lines: several 1 MiB read buffers, so lines split across buffers are exercised
    const generated = generatedTrace({ seed: 11, models: 300, tenants: 7, requests: 150_000, execMedianMs: 30, rate: 400 })
    const path = join(dir, "roundtrip.csv")
    const written = await writeCsvTrace(generated, path)
    expect(written.requests).toBe(150_000)
    expect(written.models).toBe(generated.models.ids.length)
    const [a, b] = [await requests(generated), await requests(csvTrace({ path }))]
    expect(b.length).toBe(a.length)
    const firstDifference = a.findIndex((r, i) => r.some((v, j) => !Object.is(v, b[i]![j])))
    expect(firstDifference).toBe(-1)
  })

  it("writes NaN exec times as empty fields and reads them back as NaN", async () => {
    const generated = generatedTrace({ seed: 2, models: 20, requests: 1000 })
    const path = join(dir, "noexec.csv")
    await writeCsvTrace(generated, path)
    expect(readFileSync(path, "utf8").split("\n")[1]).toMatch(/,$/)
    const back = await materialize(csvTrace({ path }))
    expect(back.timeMs.length).toBe(1000)
    expect(Array.from(back.execMs).every(Number.isNaN)).toBe(true)
  })

  it("round-trips any double exactly (fast decimal path and its fallback)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.double({ min: 0, max: 1e300, noNaN: true }), { minLength: 1, maxLength: 50 }), async (xs) => {
        const path = file(`time_ms,model,size_bytes,exec_ms\n${xs.map((x, i) => `${i},m,${x},${x}`).join("\n")}\n`)
        const trace = csvTrace({ path })
        const back = await materialize(trace)
        expect(Array.from(back.execMs)).toEqual(xs)
        expect(trace.models.sizes).toEqual([xs[0]])
      }),
      { numRuns: 40 }
    )
  })

  it("finds columns by header name in any order; tenant defaults to \"default\", exec to NaN", async () => {
    const trace = csvTrace({ path: file("\uFEFFSize_Bytes, note ,model,time_ms\r\n100,x,a,0\r\n\r\n999,y,a,5.5\r\n7,z,b,5.5") })
    const r = await requests(trace)
    expect(r).toEqual([
      [0, "a", "default", 100, NaN],
      [5.5, "a", "default", 100, NaN], // first size seen wins
      [5.5, "b", "default", 7, NaN]
    ])
  })

  it("keeps each model's first tenant and applies limit and timeScale", async () => {
    const path = file("time_ms,model,size_bytes,tenant,exec_ms\n0,a,1,t1,2\n10,b,2,,\n20,a,1,t2,3\n30,c,3,t3,4\n")
    const all = csvTrace({ path })
    expect(await requests(all)).toEqual([
      [0, "a", "t1", 1, 2],
      [10, "b", "default", 2, NaN],
      [20, "a", "t1", 1, 3],
      [30, "c", "t3", 3, 4]
    ])
    const limited = csvTrace({ path, limit: 2, timeScale: 0.5 })
    expect(await requests(limited)).toEqual([
      [0, "a", "t1", 1, 2],
      [5, "b", "default", 2, NaN]
    ])
    expect(limited.models.ids).toEqual(["a", "b"])
  })

  it("reads lines longer than a read buffer", async () => {
    const long = "n".repeat(2_500_000) // > 2 read buffers of 1 MiB
    const trace = csvTrace({ path: file(`time_ms,note,model,size_bytes\n1,${long},a,5\n2,x,b,6\n3,${long},a,5`) })
    expect(await requests(trace)).toEqual([
      [1, "a", "default", 5, NaN],
      [2, "b", "default", 6, NaN],
      [3, "a", "default", 5, NaN]
    ])
  })

  it("replays from the start with stable model indices", async () => {
    const trace = csvTrace({ path: file("time_ms,model,size_bytes\n1,x,5\n2,y,6\n3,x,5\n") })
    const a = await materialize(trace)
    const b = await materialize(trace)
    expect(Array.from(b.model)).toEqual(Array.from(a.model))
    expect(Array.from(a.model)).toEqual([0, 1, 0])
    expect(trace.models.ids).toEqual(["x", "y"])
  })

  describe("bad files give a TraceError naming file, line and column", () => {
    it("missing required column", async () => {
      const path = file("time_ms,model,tenant\n0,a,t\n")
      const err = await failure(csvTrace({ path }))
      expect(err.message).toMatch(new RegExp(`^${path}:1: column size_bytes: missing required column "size_bytes"`))
      expect(err.line).toBe(1)
      expect(err.columnName).toBe("size_bytes")
    })

    it("a field that is not a number", async () => {
      const path = file("time_ms,model,size_bytes\n0,a,10\n1,b,12kb\n")
      const err = await failure(csvTrace({ path }))
      expect(err.message).toBe(`${path}:3: column 3 (size_bytes): "12kb" is not a number`)
      expect([err.line, err.column, err.columnName]).toEqual([3, 3, "size_bytes"])
      const exec = await failure(csvTrace({ path: file("model,time_ms,size_bytes,exec_ms\na,0,1,fast\n") }))
      expect(exec.message).toMatch(/:2: column 4 \(exec_ms\): "fast" is not a number/)
    })

    it("time going backwards", async () => {
      const path = file("time_ms,model,size_bytes\n0,a,1\n\n50,a,1\n40,b,1\n")
      const err = await failure(csvTrace({ path }))
      expect(err.message).toBe(
        `${path}:5: column 1 (time_ms): time_ms 40 is earlier than the previous request's 50: the trace must be sorted by time`
      )
    })

    it("an empty file, or a header without requests", async () => {
      const empty = file("")
      expect((await failure(csvTrace({ path: empty }))).message).toBe(
        `${empty}:1: empty file: expected a header line time_ms,model,size_bytes,tenant,exec_ms`
      )
      const headerOnly = file("time_ms,model,size_bytes\n")
      expect((await failure(csvTrace({ path: headerOnly }))).message).toBe(`${headerOnly}:2: no requests after the header`)
    })

    it("negative values, empty ids, wrong column counts, duplicate columns", async () => {
      const cases: [string, RegExp][] = [
        ["time_ms,model,size_bytes\n0,a,-1\n", /:2: column 3 \(size_bytes\): size_bytes must be ≥ 0, got -1$/],
        ["time_ms,model,size_bytes\n-5,a,1\n", /:2: column 1 \(time_ms\): time_ms must be ≥ 0, got -5$/],
        ["time_ms,model,size_bytes\n0,,1\n", /:2: column 2 \(model\): empty model id$/],
        ["time_ms,model,size_bytes\n0,a,1\n1,a\n", /:3: column 3 \(size_bytes\): line has 2 columns, the header has 3$/],
        ["time_ms,model,size_bytes\n0,a,1,9\n", /:2: column 4: more than the header's 3 columns$/],
        ["time_ms,model,size_bytes,model\n0,a,1,b\n", /:1: column 4 \(model\): duplicate column "model"$/]
      ]
      for (const [text, message] of cases) expect((await failure(csvTrace({ path: file(text) }))).message).toMatch(message)
    })

    it("a file that cannot be read", async () => {
      const err = await failure(csvTrace({ path: join(dir, "missing.csv") }))
      expect(err.message).toMatch(/missing\.csv: cannot read the trace: ENOENT/)
    })
  })

  it("rejects bad options naming the field", () => {
    expect(() => csvTrace({ path: "x.csv", limit: 0 })).toThrow(/^invalid csv trace options: limit: Expected a positive number, actual 0$/)
    expect(() => csvTrace({ path: "", timeScale: -1 })).toThrow(/path: .*; timeScale: Expected a positive number, actual -1/)
    expect(() => csvTrace({ path: "x.csv", speed: 2 } as never)).toThrow(/speed: is unexpected/)
  })

  it("refuses to write ids the format cannot carry", async () => {
    const trace: Trace = {
      name: "bad",
      models: { ids: ["a,b"], tenants: ["t"], sizes: [1] },
      async *chunks() {
        yield { length: 1, timeMs: new Float64Array([0]), model: new Int32Array([0]), execMs: new Float64Array([NaN]) }
      }
    }
    const out = join(dir, "bad-out.csv")
    await expect(writeCsvTrace(trace, out)).rejects.toThrow(/cannot write model "a,b" to a CSV trace/)
    expect(existsSync(out)).toBe(false) // no truncated trace left behind
  })
})
