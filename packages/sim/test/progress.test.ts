import { afterEach, describe, expect, it, vi } from "vitest"
import { progressBar } from "@meshkit/sim"

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
    expect(writes[0]).toMatch(/^\r\x1b\[2K\[######-{18}\] 1\/4 runs · 1\.5M requests · .*\/s · lru, gdsf$/)
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
})
