import { describe, expect, it } from "vitest"
import { glibcTrim, HeapGovernor, TRIM_BACKOFF_BYTES } from "../src/instance/native-heap.js"

describe("the heap governor", () => {
  const governed = (rssValues: number[], limitBytes: number) => {
    let rss = rssValues.shift()!
    const trims: number[] = []
    const g = new HeapGovernor({
      rss: () => rss,
      trim: () => {
        rss = rssValues.shift() ?? rss
        return true
      },
      limitBytes,
      onTrim: (released) => trims.push(released)
    })
    return { g, trims, setRss: (v: number) => (rss = v) }
  }

  it("does nothing while resident memory is under its line", () => {
    const { g, trims } = governed([900], 1000)
    g.afterUnload()
    expect(g.trims).toBe(0)
    expect(trims).toEqual([])
  })

  it("trims after an unload over the line and counts what it gave back", () => {
    const { g, trims } = governed([1500, 900], 1000)
    g.afterUnload()
    expect(g.trims).toBe(1)
    expect(trims).toEqual([600])
    expect(g.releasedBytes).toBe(600)
  })

  it("after a trim that leaves it over the line, waits for RSS to grow by the backoff before the next", () => {
    const line = 100 * 2 ** 20
    const left = line + 2 * 2 ** 20
    const { g, setRss } = governed([line + 30 * 2 ** 20, left], line)
    g.afterUnload()
    expect(g.trims).toBe(1)
    setRss(left + TRIM_BACKOFF_BYTES - 1)
    g.afterUnload()
    expect(g.trims, "memory the trim could not give back is not trimmed for again").toBe(1)
    setRss(left + TRIM_BACKOFF_BYTES + 1)
    g.afterUnload()
    expect(g.trims).toBe(2)
  })
})

describe("glibc's malloc_trim", () => {
  it("is callable on this Linux machine (glibc), through koffi", () => {
    const trim = glibcTrim()
    expect(typeof trim, String(trim)).toBe("function")
    expect(typeof (trim as () => boolean)()).toBe("boolean")
  })
})
