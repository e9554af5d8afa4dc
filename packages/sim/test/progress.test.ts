import { afterEach, describe, expect, it, vi } from "vitest"
import { progressBar } from "@meshkit/sim"
import { duration, timeLeft } from "../src/run/progress.js"
import { RunTracker } from "../src/run/tracker.js"

const fakeStream = (isTTY: boolean) => {
  const writes: string[] = []
  return { writes, stream: { isTTY, columns: 120, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream }
}

describe("progress bar", () => {
  afterEach(() => vi.unstubAllEnvs())

  it("draws one line in place on a terminal and clears it at the end", () => {
    vi.stubEnv("CI", "")
    const { writes, stream } = fakeStream(true)
    const bar = progressBar({ stream })
    bar.update({ done: 1, total: 4, requests: 1_500_000, running: ["lru", "gdsf"] })
    bar.update({ done: 4, total: 4, requests: 6_000_000, running: [] })
    bar.finish()
    expect(writes[0]).toMatch(/^\r\x1b\[2K\[######-{18}\] 1\/4 runs · 1\.5M requests · .*\/s · ETA … · lru, gdsf$/)
    expect(writes[1]).toMatch(/\[#{24}\] 4\/4 runs · 6\.0M requests/)
    expect(writes.at(-1)).toBe("\r\x1b[2K")
  })

  it("is silent when not a terminal, under CI=true, or when asked to be quiet (--json)", () => {
    for (const [tty, ci, quiet] of [[false, "", false], [true, "true", false], [true, "", true]] as const) {
      vi.stubEnv("CI", ci)
      const { writes, stream } = fakeStream(tty)
      const bar = progressBar({ stream, quiet })
      bar.update({ done: 1, total: 2, requests: 10, running: ["lru"] })
      bar.finish()
      expect(writes).toEqual([])
    }
  })

  it("estimates the time left from the share done, and marks an estimated total with ~", () => {
    vi.stubEnv("CI", "")
    let now = 1_000
    const clock = vi.spyOn(performance, "now").mockImplementation(() => now)
    try {
      const { writes, stream } = fakeStream(true)
      const bar = progressBar({ stream })
      now += 10_000
      bar.update({ done: 1, total: 4, requests: 100, running: ["lru"], fraction: 0.25, estimatedTotal: true })
      expect(writes[0]).toMatch(/ 1\/~4 runs · .* · ETA 30s of ~40s · lru$/)
      now += 30_000
      bar.update({ done: 4, total: 4, requests: 400, running: [], fraction: 1 })
      expect(writes[1]).not.toMatch(/ETA/)
    } finally {
      clock.mockRestore()
    }
  })
})

describe("time estimate", () => {
  it("extrapolates elapsed time by the share done, once there is something to go on", () => {
    expect(timeLeft(10, 0.25)).toBe(30)
    expect(timeLeft(10, 0.5)).toBe(10)
    expect(timeLeft(10, 1)).toBe(0)
    expect(timeLeft(10, 0)).toBeUndefined()
    expect(timeLeft(0.1, 0.5)).toBeUndefined()
    expect(timeLeft(10, Number.NaN)).toBeUndefined()
    expect([duration(7.4), duration(65), duration(7380)]).toEqual(["7s", "1m05s", "2h03m"])
  })

  it("counts running runs by their requests once one run's length is known", () => {
    const seen: number[] = []
    const t = new RunTracker(4, (s) => seen.push(s.fraction ?? -1))
    const a = t.start("a")
    t.progress(a, 500) // length of a run not known yet: counts nothing
    expect(t.state().fraction).toBe(0)
    t.finish(a, 1000)
    expect(t.state().fraction).toBe(0.25)
    const b = t.start("b")
    t.progress(b, 500)
    expect(t.state().fraction).toBe(0.375)
    expect(t.state().requests).toBe(1500)
    t.drop(b)
    expect(t.state()).toMatchObject({ done: 1, running: [], requests: 1000 })
    t.plan(10, true)
    expect(t.state()).toMatchObject({ total: 10, estimatedTotal: true, fraction: 0.1 })
    expect(seen.length).toBeGreaterThan(5)
  })
})
